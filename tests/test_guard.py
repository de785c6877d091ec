"""The destructive guard: every rule refuses, names itself and its evidence; only force with the right confirm
passes a soft rule, and nothing passes a hard one. Fed with lsblk output recorded on the test machine and with
hand-written outputs for the other cases."""

import json
from pathlib import Path

import pytest

from xenbook.safety.guard import GuardRefused, check, device_facts, image_facts, refusals

HERE = Path(__file__).parent / "guard"
HAND = json.loads((HERE / "handwritten.lsblk.json").read_text())
HAND_SWAPS = (HERE / "handwritten.swaps").read_text()
RECORDED = json.loads((HERE / "recorded-test-machine.lsblk.json").read_text())
RECORDED_SWAPS = (HERE / "recorded-test-machine.swaps").read_text()
# an ext4 image mounted with mount -o loop, as lsblk -J -p -o NAME,TYPE,FSTYPE,PTTYPE,PARTTYPE,MOUNTPOINTS,
# losetup -j and blkid -p -o export (util-linux 2.38) showed it
LOOP = json.loads((HERE / "recorded-loop-image.lsblk.json").read_text())
LOOP_LOSETUP = (HERE / "recorded-loop-image.losetup").read_text()
LOOP_BLKID = (HERE / "recorded-loop-image.blkid").read_text()

# device, blkid -p -o export output, the rule it breaks, whether force can override it
CASES = [
    ("/dev/sda", "PTTYPE=gpt\n", "backs-root", False),  # its LVM volume is mounted at /
    ("/dev/sda1", "TYPE=vfat\n", "backs-boot", False),
    ("/dev/sda2", "TYPE=LVM2_member\n", "backs-root", False),
    ("/dev/mapper/vg0-root", "TYPE=ext4\n", "backs-root", False),
    ("/dev/mapper/vg0-srv", "TYPE=xfs\n", "mounted", False),
    ("/dev/mapper/vg0-swap", "TYPE=swap\n", "active-swap", False),
    ("/dev/sde", "TYPE=swap\n", "active-swap", False),
    ("/dev/mapper/vg0-old", "TYPE=ext4\n", "has-filesystem", True),
    ("/dev/sdb", "PTTYPE=dos\n", "has-partition-table", True),
    ("/dev/sdc", "TYPE=LVM2_member\n", "lvm-pv", True),
    ("/dev/nosuch", "", "missing", False),
    # partitions whose type says they hold something, though blkid finds no filesystem on them
    ("/dev/sdf1", "", "partition-type", True),  # BIOS boot: GRUB's core.img
    ("/dev/sdf2", "", "partition-type", True),  # EFI system
    ("/dev/sdf3", "", "partition-type", True),  # Microsoft reserved
    ("/dev/sdf4", "", "partition-type", True),  # Linux swap
    ("/dev/sdf5", "", "partition-type", True),  # Linux RAID
    ("/dev/sdf6", "", "partition-type", True),  # Linux LVM
    ("/dev/sdf8", "", "partition-type", True),  # Linux home: another type than Linux filesystem
    ("/dev/sdf9", "", "partition-type", True),  # no type reported by lsblk or blkid
    ("/dev/sdf9", "PART_ENTRY_SCHEME=gpt\nPART_ENTRY_TYPE=21686148-6449-6E6F-744E-656564454649\n", "partition-type",
     True),  # the type from blkid when lsblk has none (no udev), in upper case
    ("/dev/sdg2", "", "partition-type", True),  # MBR 0x82 Linux swap
    ("/dev/sdg3", "", "partition-type", True),  # MBR 0xef EFI system
    ("/dev/sdg4", "", "partition-type", True),  # MBR 0x5 extended
    ("/dev/sdg5", "", "partition-type", True),  # MBR 0x8e Linux LVM
    ("/dev/sdg6", "", "partition-type", True),  # MBR 0xfd Linux RAID
]
# an image file: (image, losetup -j, lsblk tree, blkid -p -o export, /proc/swaps, rule, soft)
IMAGE_CASES = [
    ("/tmp/guest.img", LOOP_LOSETUP, LOOP, LOOP_BLKID, RECORDED_SWAPS, "mounted", False),
    ("/srv/swap.img", "/dev/loop1: [2049]:131 (/srv/swap.img)\n", {"blockdevices": [
        {"name": "/dev/loop1", "type": "loop", "fstype": "swap", "pttype": None, "mountpoints": ["[SWAP]"]}]},
     "TYPE=swap\n", RECORDED_SWAPS + "/dev/loop1                              file\t65532\t\t0\t\t-2\n", "active-swap",
     False),
    ("/srv/root.img", "/dev/loop2: [2049]:132 (/srv/root.img)\n", {"blockdevices": [
        {"name": "/dev/loop2", "type": "loop", "fstype": None, "pttype": "gpt", "mountpoints": [None], "children": [
            {"name": "/dev/loop2p1", "type": "part", "fstype": "ext4", "pttype": "gpt", "mountpoints": ["/"]}]}]},
     "PTTYPE=gpt\n", RECORDED_SWAPS, "backs-root", False),
    ("/srv/old.img", "", LOOP, "TYPE=ext4\n", RECORDED_SWAPS, "has-filesystem", True),
]
FORCE = [("not forced", False, None), ("forced, no confirm", True, None), ("forced, wrong confirm", True, "/dev/sdX"),
         ("forced and confirmed", True, "DEVICE")]


@pytest.mark.parametrize("device, blkid, rule, soft", CASES, ids=[c[2] + ":" + c[0] for c in CASES])
@pytest.mark.parametrize("label, force, confirm", FORCE, ids=[f[0] for f in FORCE])
def test_guard_matrix(device, blkid, rule, soft, label, force, confirm):
    facts = device_facts(device, HAND, blkid, HAND_SWAPS)
    assert rule in {r.rule for r in refusals(facts)}
    confirm = device if confirm == "DEVICE" else confirm
    if soft and force and confirm == device:
        overridden = check(facts, force=force, confirm=confirm)
        assert rule in {r.rule for r in overridden}
        return
    with pytest.raises(GuardRefused) as info:
        check(facts, force=force, confirm=confirm)
    message = str(info.value)
    assert f"[{rule}]" in message and device in message and "what to do" in message


@pytest.mark.parametrize("image, losetup, lsblk, blkid, swaps, rule, soft", IMAGE_CASES,
                         ids=[c[5] + ":" + c[0] for c in IMAGE_CASES])
@pytest.mark.parametrize("label, force, confirm", FORCE, ids=[f[0] for f in FORCE])
def test_image_matrix(image, losetup, lsblk, blkid, swaps, rule, soft, label, force, confirm):
    facts = image_facts(image, losetup, lsblk, blkid, swaps)
    confirm = image if confirm == "DEVICE" else confirm
    if soft and force and confirm == image:
        assert rule in {r.rule for r in check(facts, force=force, confirm=confirm)}
        return
    message = str(pytest.raises(GuardRefused, check, facts, force=force, confirm=confirm).value)
    assert f"[{rule}]" in message and image in message and "what to do" in message, message


def test_empty_device_passes_without_force():
    assert check(device_facts("/dev/sdd", HAND, "", HAND_SWAPS)) == []
    assert check(device_facts("/dev/mapper/vg0-dom01", HAND, "", HAND_SWAPS)) == []


def test_linux_filesystem_partitions_pass_without_force():
    """GPT 0fc63daf-... and MBR 0x83 hold no data until blkid finds a signature on them."""
    assert check(device_facts("/dev/sdf7", HAND, "", HAND_SWAPS)) == []
    assert check(device_facts("/dev/sdg1", HAND, "", HAND_SWAPS)) == []
    assert check(device_facts("/dev/sdf9", HAND, "PART_ENTRY_TYPE=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n",
                              HAND_SWAPS)) == []


def test_partition_type_evidence_names_the_type():
    message = str(pytest.raises(GuardRefused, check, device_facts("/dev/sdf1", HAND, "", HAND_SWAPS)).value)
    assert "/dev/sdf1 is a BIOS boot partition (type 21686148-6449-6e6f-744e-656564454649)" in message
    assert "confirm: '/dev/sdf1'" in message


def test_recorded_loop_mounted_image_is_refused_even_forced():
    facts = image_facts("/tmp/guest.img", LOOP_LOSETUP, LOOP, LOOP_BLKID, RECORDED_SWAPS)
    assert [r.rule for r in refusals(facts)] == ["mounted", "has-filesystem"]
    refused = pytest.raises(GuardRefused, check, facts, force=True, confirm="/tmp/guest.img").value
    assert "/tmp/guest.img is mounted through /dev/loop0 at /mnt/guest" in str(refused)
    assert "no parameter overrides that" in str(refused)


def test_an_unattached_new_image_passes():
    assert check(image_facts("/srv/new.img", "", LOOP, "", RECORDED_SWAPS)) == []


def test_evidence_names_the_path_through_stacked_devices():
    message = str(pytest.raises(GuardRefused, check, device_facts("/dev/sda2", HAND, "", HAND_SWAPS)).value)
    assert "mounted through /dev/mapper/vg0-root at /" in message
    assert "/dev/mapper/vg0-swap is active swap" in message


def test_recorded_test_machine_root_disk_is_refused():
    facts = device_facts("/dev/vda", RECORDED, "", RECORDED_SWAPS)
    assert [r.rule for r in refusals(facts)] == ["backs-root"]
    with pytest.raises(GuardRefused, match="no parameter overrides that"):
        check(facts, force=True, confirm="/dev/vda")
