"""The destructive guard: every rule refuses, names itself and its evidence; only force with the right confirm
passes a soft rule, and nothing passes a hard one. Fed with lsblk output recorded on the test machine and with
hand-written outputs for the other cases."""

import json
from pathlib import Path

import pytest

from xenbook.safety.guard import GuardRefused, check, device_facts, refusals

HERE = Path(__file__).parent / "guard"
HAND = json.loads((HERE / "handwritten.lsblk.json").read_text())
HAND_SWAPS = (HERE / "handwritten.swaps").read_text()
RECORDED = json.loads((HERE / "recorded-test-machine.lsblk.json").read_text())
RECORDED_SWAPS = (HERE / "recorded-test-machine.swaps").read_text()

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


def test_empty_device_passes_without_force():
    assert check(device_facts("/dev/sdd", HAND, "", HAND_SWAPS)) == []
    assert check(device_facts("/dev/mapper/vg0-dom01", HAND, "", HAND_SWAPS)) == []


def test_evidence_names_the_path_through_stacked_devices():
    message = str(pytest.raises(GuardRefused, check, device_facts("/dev/sda2", HAND, "", HAND_SWAPS)).value)
    assert "mounted through /dev/mapper/vg0-root at /" in message
    assert "/dev/mapper/vg0-swap is active swap" in message


def test_recorded_test_machine_root_disk_is_refused():
    facts = device_facts("/dev/vda", RECORDED, "", RECORDED_SWAPS)
    assert [r.rule for r in refusals(facts)] == ["backs-root"]
    with pytest.raises(GuardRefused, match="no parameter overrides that"):
        check(facts, force=True, confirm="/dev/vda")
