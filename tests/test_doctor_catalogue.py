"""The doctor's catalogue, case by case: recorded or documented log excerpts in, the finding ids expected out.

A case is tests/doctor/cases/*.yaml (evidence quoted from documentation) or tests/recorded/doctor/qemu/*.yaml
(evidence recorded from real output): origin, where its excerpt is from, the expected ids, and the evidence as
{source: lines} (unreadable: {source: why} for the sources that could not be read) and/or evidence_files:
{source: a log file beside the case}, so a recorded log (e.g. a QEMU boot's console) is used as it was captured."""

from pathlib import Path

import pytest
import yaml

from xenbook.core.errors import HostError
from xenbook.facts.evidence import Evidence
from xenbook.sections.doctor.catalogue import AREAS, CatalogueError, catalogue, diagnose, parse

HERE = Path(__file__).parent
CASES = sorted((HERE / "doctor" / "cases").glob("*.yaml")) + sorted(
    (HERE / "recorded" / "doctor" / "qemu").glob("*.yaml"))


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def case_evidence(path, case) -> Evidence:
    data = dict(case.get("evidence") or {})
    for source, name in (case.get("evidence_files") or {}).items():
        data[source] = (path.parent / name).read_text(encoding="utf-8", errors="replace")
    return Evidence.of(data)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_each_case_names_the_expected_findings(path):
    case = load(path)
    assert case["origin"] in ("documentation", "recorded"), "say where the excerpt is from"
    found = diagnose(case_evidence(path, case))
    assert [f.signature.id for f in found] == case["expect"]
    for f in found:  # each finding shows what it rests on, its fix and its source
        assert f.evidence and f.signature.fix and f.signature.source


def test_every_signature_has_a_case():
    covered = {i for p in CASES for i in load(p)["expect"]}
    assert {s.id for s in catalogue()} - covered == set()


def test_every_entry_is_complete():
    for s in catalogue():
        assert s.area in AREAS and s.title and s.cause.strip() and s.fix and s.source, s.id
        assert not s.step or s.step.startswith("xenbook apply -s "), s.id


@pytest.mark.parametrize("entry, words", [
    ({"id": "x", "area": "boot", "title": "t", "cause": "c", "fix": "f", "source": ["s"]}, "no matcher"),
    ({"id": "x", "area": "disk", "title": "t", "cause": "c", "fix": "f", "source": ["s"],
      "any": [{"source": "dmesg", "match": "a"}]}, "area not in"),
    ({"id": "x", "area": "boot", "title": "t", "cause": "c", "fix": "f", "source": ["s"],
      "any": [{"source": "dmesg", "match": "a", "lacks": "b"}]}, "one of match or lacks"),
    ({"id": "x", "area": "boot", "title": "t", "cause": "c", "fix": "f", "source": ["s"],
      "any": [{"source": "dmesg", "match": "("}]}, "bad regex"),
    ({"id": "x", "area": "boot", "title": "t", "cause": "c", "fix": "f", "source": ["s"], "unless": ["nope"],
      "any": [{"source": "dmesg", "match": "a"}]}, "unknown ids"),
])
def test_a_broken_entry_is_refused_naming_it(entry, words):
    with pytest.raises(CatalogueError, match=words):
        parse([entry])


def test_evidence_lines_are_redacted():
    ev = Evidence.of({"journal.now": ["xl[1]: vcpu hard affinity map is empty password=hunter2"]})
    found = diagnose(ev)
    assert found and "hunter2" not in " ".join(found[0].evidence)


# the gatherer: what it cannot read is evidence too, never a crash

HINT = ("Hint: You are currently not seeing messages from other users and the system.\n      Users in groups 'adm', "
        "'systemd-journal' can see all messages.\n      Pass -q to turn off this notice.\n")


def _raises(host, command):
    raise HostError("ssh: connection reset")


def test_the_gatherer_reads_nothing_it_cannot_and_says_why():
    from xenbook.connectors.fake import FakeHost
    from xenbook.core.commands import Result
    from xenbook.facts.evidence_host import gather
    host = FakeHost(
        files={"/proc/cmdline": "BOOT_IMAGE=/vmlinuz-linux root=UUID=0a1b rw\n", "/etc/os-release": "ID=arch\n"},
        commands={"journalctl -b -1 --no-pager -o short-monotonic -n 50":
                  Result(1, "", "No journal files were opened due to insufficient permissions.\n"),
                  "journalctl -b 0 --no-pager -o short-monotonic -n 50": Result(0, "-- No entries --\n", HINT),
                  "ip": _raises, "findmnt": _raises},
        absent=["pacman", "xl", "dmesg", "systemctl", "efibootmgr"])
    ev = gather(host, 50)
    assert "insufficient permissions" in ev.unreadable["journal.prev"]
    assert "not root" in ev.unreadable["journal.now (partial)"]
    assert "not installed" in ev.unreadable["xl.info"] and "not installed" in ev.unreadable["units"]
    assert "ip.link" in ev.unreadable and "dmesg" in ev.unreadable
    assert "xen_installed=no" in ev.sources["facts"]
    assert diagnose(ev) == []


GRUB_CFG = """\
menuentry 'Arch Linux' --class arch --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-simple-0a1b' {
\tlinux\t/boot/vmlinuz-linux root=UUID=0a1b rw
}
submenu 'Advanced options for Arch Linux' $menuentry_id_option 'gnulinux-advanced-0a1b' {
\tmenuentry 'Arch Linux, with Linux linux' --class arch $menuentry_id_option 'gnulinux-linux-advanced-0a1b' {
\t}
}
menuentry 'Arch Linux, with Xen hypervisor' --class arch --class xen $menuentry_id_option 'xen-gnulinux-simple-0a1b' {
\tmultiboot2\t/boot/xen.gz placeholder
}
menuentry "Arch Linux (linux), with Xen hypervisor" --id xenbook-xen {
\tmultiboot2\t/boot/xen.gz dom0_mem=2048M,max:2048M
}
"""


@pytest.mark.parametrize("defaults, grubenv, expected", [
    (None, None, "gnulinux-simple-0a1b (Arch Linux)"),
    ("GRUB_DEFAULT=0\n", None, "gnulinux-simple-0a1b (Arch Linux)"),
    ("GRUB_DEFAULT=2\n", None, "xen-gnulinux-simple-0a1b (Arch Linux, with Xen hypervisor)"),  # a submenu counts
    ('GRUB_DEFAULT="xenbook-xen"\n', None, "xenbook-xen (Arch Linux (linux), with Xen hypervisor)"),
    ("GRUB_DEFAULT=saved\n", "saved_entry=xenbook-xen\n", "xenbook-xen (Arch Linux (linux), with Xen hypervisor)"),
    ("GRUB_DEFAULT=saved\n", None, "gnulinux-simple-0a1b (Arch Linux)"),
    ("GRUB_DEFAULT='Advanced options for Arch Linux>Arch Linux, with Linux linux'\n", None,
     "gnulinux-advanced-0a1b (Advanced options for Arch Linux)"),
    ("GRUB_DEFAULT=9\n", None, "9"),
])
def test_the_grub_default_entry_as_grub_picks_it(defaults, grubenv, expected):
    from xenbook.facts.evidence_host import grub_default_entry
    assert grub_default_entry(GRUB_CFG, defaults, grubenv) == expected


@pytest.mark.parametrize("lines, expected", [
    (["BootCurrent: 0000", "BootOrder: 0002,0000", "Boot0000* Linux Boot Manager\tHD(1,GPT,aa)/File(\\EFI\\systemd\\"
      "systemd-bootx64.efi)", "Boot0002* Arch Linux with Xen (xenbook)\tHD(1,GPT,aa)/File(\\xen.efi)"],
     "0002 Arch Linux with Xen (xenbook)"),
    (["BootNext: 0000", "BootOrder: 0002,0000", "Boot0000* Linux Boot Manager\tx"], "0000 Linux Boot Manager"),
    (["BootOrder: 0007", "Boot0000* Linux Boot Manager\tx"], "0007 ?"),
    (["BootCurrent: 0000"], ""),
])
def test_the_entry_the_firmware_boots_first(lines, expected):
    from xenbook.facts.evidence_host import efi_first_entry
    assert efi_first_entry(lines) == expected


def test_a_chroot_target_takes_none_of_the_running_machines_state_for_the_systems():
    from xenbook.connectors.fake import FakeHost
    from xenbook.core.commands import Result
    from xenbook.facts.evidence_host import gather
    host = FakeHost(files={"/proc/cmdline": "root=/dev/sda1\n", "/sys/hypervisor/type": "xen\n",
                           "/proc/xen/capabilities": "control_d\n"},
                    commands={"xl": Result(0, "xen_major : 4\n", ""), "dmesg": Result(0, "[0.0] Linux\n", ""),
                              "journalctl": Result(0, "-- No entries --\n", "")},
                    absent=["pacman", "systemctl", "ip", "findmnt", "efibootmgr"])
    host.chroot = True
    ev = gather(host, 50)
    assert "chroot" in ev.unreadable["proc.cmdline"] and "dmesg" not in ev.sources
    assert not any(f.startswith(("hypervisor=", "dom0=")) for f in ev.sources["facts"])
    assert diagnose(ev) == []
