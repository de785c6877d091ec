"""The destructive guard, rule by rule, in four ways: not forced, forced without confirm, forced with a wrong confirm,
forced and confirmed. Only the last may proceed, and not even that for the hard rules (the device backs the root or
/boot, is mounted, or is active swap).

First on device facts recorded on real machines (tests/guard/), then through the domU section on the sample host,
whose devices are set up to break each rule; a refusal happens when the section plans, names the rule and changes
nothing."""

from __future__ import annotations

import os

import pytest

from tests.test_guard import CASES, HAND, HAND_SWAPS, IMAGE_CASES, RECORDED, RECORDED_SWAPS
from xenbook.connectors.targets import open_host
from xenbook.core.commands import Command
from xenbook.core.errors import ParameterError
from xenbook.safety.guard import GuardRefused, check, device_facts, image_facts, refusals

from . import samples, trees

IMAGE = "/var/lib/xen/images/guarded.img"
WAYS = [("not forced", False, None), ("forced without confirm", True, None),
        ("forced with a wrong confirm", True, "/dev/sdX"), ("forced and confirmed", True, "DEVICE")]
RECORDED_CASES = [(HAND, HAND_SWAPS, *c) for c in CASES] + [(RECORDED, RECORDED_SWAPS, "/dev/vda", "", "backs-root",
                                                            False)]


@pytest.mark.parametrize("way, force, confirm", WAYS, ids=[w[0] for w in WAYS])
def test_recorded_device_facts(way, force, confirm, tally):
    for lsblk, swaps, device, blkid, rule, soft in RECORDED_CASES:
        facts = device_facts(device, lsblk, blkid, swaps)
        assert rule in {r.rule for r in refusals(facts)}, (device, rule)
        given = device if confirm == "DEVICE" else confirm
        tally["guard cases"] += 1
        if soft and force and given == device:
            assert rule in {r.rule for r in check(facts, force=force, confirm=given)}
            continue
        with pytest.raises(GuardRefused) as refused:
            check(facts, force=force, confirm=given)
        message = str(refused.value)
        assert f"[{rule}]" in message and device in message and "what to do:" in message, message
    for image, losetup, lsblk, blkid, swaps, rule, soft in IMAGE_CASES:  # loop devices' mounts and swap count
        facts = image_facts(image, losetup, lsblk, blkid, swaps)
        given = image if confirm == "DEVICE" else confirm
        tally["guard cases"] += 1
        if soft and force and given == image:
            assert rule in {r.rule for r in check(facts, force=force, confirm=given)}
            continue
        message = str(pytest.raises(GuardRefused, check, facts, force=force, confirm=given).value)
        assert f"[{rule}]" in message and image in message and "what to do:" in message, message


# device on the sample host (bios-grub2 rebooted into Xen; "prepared" adds a mounted and a swap volume on vg0,
# which make its disk /dev/sdb refused by hard rules, and the guest's image mounted with mount -o loop), the rule,
# whether force overrides it, which host; /dev/sda1 is the BIOS boot partition, holding no filesystem
SAMPLE_RULES = [("/dev/sda3", "backs-root", False, "prepared"), ("/dev/sda2", "backs-boot", False, "prepared"),
                ("/dev/vg0/scratch", "mounted", False, "prepared"), ("/dev/vg0/swap", "active-swap", False, "prepared"),
                ("/dev/vg0/data", "has-filesystem", True, "prepared"), ("/dev/sdb", "lvm-pv", True, "plain"),
                ("/dev/sda1", "partition-type", True, "plain"), (IMAGE, "mounted", False, "prepared")]


def prepare(root: str) -> str:
    """A mounted volume (/srv/scratch), an active swap volume and an image mounted through a loop device (/srv/guest),
    besides the profile's own disks and vg0/data."""
    with open_host(f"sample:{root}") as host:
        for argv in (("lvcreate", "--yes", "-L", "1G", "-n", "scratch", "vg0"),
                     ("mkfs.ext4", "-q", "-F", "/dev/vg0/scratch"), ("mkdir", "-p", "/srv/scratch"),
                     ("mount", "/dev/vg0/scratch", "/srv/scratch"), ("lvcreate", "--yes", "-L", "1G", "-n", "swap",
                                                                      "vg0"),
                     ("mkdir", "-p", "/var/lib/xen/images", "/srv/guest"), ("truncate", "-s", "64M", IMAGE),
                     ("mkfs.ext4", "-q", "-F", IMAGE), ("mount", "-o", "loop", IMAGE, "/srv/guest")):
            assert host.run(Command(argv)).ok, argv
    with open(os.path.join(root, "proc/swaps"), "a") as f:  # as swapon would show it
        f.write("/dev/mapper/vg0-swap                    partition\t1048572\t\t0\t\t-2\n")
    return root


@pytest.fixture(scope="module")
def hosts(template, scratch):
    base = os.path.join(scratch, "guard")
    return {"prepared": prepare(samples.copy_host(template("bios-grub2", "xen"), os.path.join(base, "prepared"))),
            "plain": samples.copy_host(template("bios-grub2", "xen"), os.path.join(base, "plain"))}


@pytest.mark.parametrize("device, rule, soft, which", SAMPLE_RULES, ids=[r[1] for r in SAMPLE_RULES])
@pytest.mark.parametrize("way, force, confirm", WAYS, ids=[w[0] for w in WAYS])
def test_through_the_domu_section(device, rule, soft, which, way, force, confirm, hosts, tally):
    guarded_host = hosts[which]
    given = device if confirm == "DEVICE" else confirm
    guest = ({"name": "guarded", "storage": "image"} if device == IMAGE else
             {"name": "guarded", "storage": "partition", "device": device}) | {"force": force}
    if given is not None:
        guest["confirm"] = given
    before = trees.snapshot(guarded_host)
    tally["guard cases"] += 1
    if force and given is not None and given != device:  # refused as bad input, before the host is read
        with pytest.raises(ParameterError, match="confirm is /dev/sdX but the guest's disk is"):
            samples.apply(guarded_host, {"guests": [guest]}, ["domu"])
        assert trees.snapshot(guarded_host) == before, "a refused guest changed the host"
        return
    plan = samples.apply(guarded_host, {"guests": [guest]}, ["domu"], dry_run=True)
    step = next(s for s in plan.steps if s.name == "GuestFilesystem(guarded)")
    if soft and force and given == device:
        assert step.status == "would-change", (step.status, step.reason)
        assert "forced and confirmed over" in step.reason and device.rsplit("/", 1)[1] in step.reason
        return
    assert step.status == "failed" and f"[{rule}]" in step.reason, (step.status, step.reason)
    applied = samples.apply(guarded_host, {"guests": [guest]}, ["domu"])
    step = next(s for s in applied.steps if s.name == "GuestFilesystem(guarded)")
    assert step.status == "failed" and f"[{rule}]" in step.reason, (step.status, step.reason)
    assert "what to do" not in step.reason and step.remedy, "the remedy is given separately"
    assert trees.snapshot(guarded_host) == before, "a refused guest changed the host"


def test_forced_and_confirmed_formats_the_volume_that_held_data(template, scratch):
    """The one case that proceeds, applied: vg0/data is formatted for the guest, on purpose."""
    root = samples.copy_host(template("bios-grub2", "xen"), os.path.join(scratch, "guard", "forced"))
    guest = {"name": "reuse", "storage": "partition", "device": "/dev/vg0/data", "force": True,
             "confirm": "/dev/vg0/data", "start": False}
    report = samples.apply(root, {"guests": [guest]}, ["domu"])
    steps = {s.name: s for s in report.steps}
    assert steps["GuestFilesystem(reuse)"].status == "changed", steps["GuestFilesystem(reuse)"].reason
    assert "forced and confirmed over" in steps["GuestFilesystem(reuse)"].reason
    assert not report.failed, report.summary()
