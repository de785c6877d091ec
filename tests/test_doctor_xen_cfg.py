"""What the doctor reads from xen.cfg: the section and files xen.efi would not find (the two breakages the e2e tier
booted for real, tests/recorded/doctor/qemu/xen-cfg-*.log), as the facts the recorded cases state."""

from pathlib import Path

import pytest
import yaml

from xenbook.edits.xencfg import XenEfiEntry, render_config
from xenbook.facts.evidence_host import xen_cfg_facts

RECORDED = Path(__file__).parent / "recorded" / "doctor" / "qemu"
GOOD = render_config(XenEfiEntry("dom0_mem=512M", "vmlinuz-linux", "root=UUID=0a1b rw", "initramfs-linux.img"))
ON_ESP = {"xen.efi", "vmlinuz-linux", "initramfs-linux.img", "EFI/xen/vmlinuz"}


@pytest.mark.parametrize("text, expected", [
    (GOOD, []),
    (GOOD.replace("kernel=vmlinuz-linux ", "kernel=vmlinuz-missing "),  # the e2e tier's missing-kernel
     [("xen_cfg_missing_file", "kernel=vmlinuz-missing")]),
    (GOOD.replace("[xenbook]", "[xen-renamed]"), [("xen_cfg_section", "missing xenbook")]),  # its missing-section
    (GOOD.replace("ramdisk=initramfs-linux.img", "ramdisk=initramfs-gone.img"),
     [("xen_cfg_missing_file", "ramdisk=initramfs-gone.img")]),
    (GOOD.replace("kernel=vmlinuz-linux", "kernel=\\EFI\\xen\\vmlinuz"), []),  # from the ESP's root
    (GOOD.replace("default=xenbook", "default=xenbook # a comment"), []),
    (GOOD.replace("default=xenbook", "default=other"), [("xen_cfg_section", "missing other")]),
    (GOOD.replace("default=xenbook\n", ""), []),  # no default=: not judged
    ("", []),
    ("[global]\ndefault=xenbook\n[xenbook]\noptions=x\n", []),  # no kernel= key: xen-cfg checks elsewhere
])
def test_what_xen_efi_would_not_find(text, expected):
    assert xen_cfg_facts(text, ON_ESP.__contains__) == expected


@pytest.mark.parametrize("case", ["xen-cfg-missing-kernel", "xen-cfg-missing-section"])
def test_the_recorded_cases_state_the_facts_their_xen_cfg_gives(case):
    data = yaml.safe_load((RECORDED / f"{case}.yaml").read_text(encoding="utf-8"))
    derived = [f"{k}={v}" for k, v in xen_cfg_facts("\n".join(data["evidence"]["xen.cfg"]), ON_ESP.__contains__)]
    assert derived and set(derived) <= set(data["evidence"]["facts"])
