"""Differential tests: the same grub-mkconfig argv through the sample host's SIMULATED grub-mkconfig and through the
REAL one (tests/realgrub) over a copy of the sample's tree made just before; exit codes, stdout, the stderr lines and
the effects (grub.cfg kept or replaced, its mode, what else is left in /boot/grub, which menu entries exist with
their titles, ids, savedefault and loader lines) must agree.

The sample simulates GRUB 2.12 with Arch's scripts; the real one is Debian's GRUB 2.06. Every difference the
comparison allows is one of these, each asserted where it is taken out:
- the sample labels its own lines "[simulated]";
- the real tool runs on this machine: it names the machine's root device (grub-probe finds no filesystem UUID on
  it, and says so on stderr) and sees the copy's boot folder at its path on the machine's root filesystem, where
  the sample's /boot is a partition of its own;
- Arch patches 10_linux: "Linux" titles where upstream says "GNU/Linux", root mounted rw instead of ro, and a
  "(fallback initramfs)" entry with its "Found fallback initrd image(s)" line;
- upstream's 30_os-prober warns that os-prober will not run before it looks for os-prober; Debian's looks first
  and says nothing without it;
- GRUB 2.12's 20_linux_xen loads the real initrd first and each initrd with a module line of its own; 2.06 puts
  the early (microcode) images first, all on one line;
- Debian's scripts compare versions with dpkg, which warns about names like xen.gz;
- Debian's 00_header waits longer after a failed boot (its recordfail timeout);
- the version grub-mkconfig -V prints, and the messages of the shell running grub-mkconfig (bash on Arch, dash
  here).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import stat
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.realgrub import (CANNOT, Entry, copy_tree, default_entry, entries, machine_root, run_real, section,
                            sections, timeouts)
from tests.test_sample import install_xen
from xenbook.core.commands import Command, Result
from xenbook.edits.blocks import ensure_block
from xenbook_sample import init_sample
from xenbook_sample.grub import EARLY_INITRD

pytestmark = pytest.mark.skipif(CANNOT is not None, reason=CANNOT or "")

MKCONFIG = ("grub-mkconfig", "-o", "/boot/grub/grub.cfg")
CFG = "boot/grub/grub.cfg"
OS_PROBER_WARNING = ("Warning: os-prober will not be executed to detect other bootable partitions.",
                     "Systems on them will not be added to the GRUB boot configuration.",
                     "Check GRUB_DISABLE_OS_PROBER documentation entry.")


@pytest.fixture
def host(tmp_path):
    return init_sample(str(tmp_path / "sample"))


@dataclass
class Side:
    """One tool's run: its result, the tree it ran over (the sample's root or the copy) and how it names the root
    filesystem (the UUID or device in entry ids, and what follows root=)."""

    result: Result
    root: Path
    dev_id: str
    root_arg: str

    def file(self, rel: str = CFG) -> Path:
        return self.root / rel

    def cfg(self) -> str:
        return self.file().read_text()

    def listing(self) -> dict[str, int]:
        """Each file of /boot/grub and its mode."""
        folder = self.file("boot/grub")
        return {p.name: stat.S_IMODE(p.stat().st_mode) for p in sorted(folder.iterdir())}

    def entries(self, text: str | None = None) -> list[Entry]:
        """The menu entries with the root filesystem's name as {root} and paths from the boot filesystem's root."""
        def norm(text: str) -> str:
            text = text.replace(f"root={self.root_arg}", "root={root}")
            text = re.sub(re.escape(self.dev_id) + r"$", "{root}", text)
            # the copy's boot folder is a folder of the machine's root filesystem: paths in it start with the folder
            return text.replace(f"{self.root}/boot/", "/")
        found = entries(self.cfg() if text is None else text)
        return [replace(e, id=norm(e.id), loaders=tuple(map(norm, e.loaders))) for e in found]


_runs = itertools.count()


def differ(host, tmp_path: Path, argv: tuple[str, ...] = MKCONFIG) -> tuple[Side, Side]:
    """argv through the sample host and through the real tool over a fresh copy of the sample's tree."""
    work = copy_tree(Path(host.root), tmp_path / f"real{next(_runs)}")
    sample_uuid = host.run(Command.of("grub-probe", "--target=fs_uuid", "/")).stdout.strip()
    sim = Side(host.run(Command.of(*argv)), Path(host.root), sample_uuid, f"UUID={sample_uuid}")
    device, uuid = machine_root()
    real = Side(run_real(work, argv), work, uuid or device, f"UUID={uuid}" if uuid else device)
    return sim, real


def sample_messages(sim: Side) -> list[str]:
    """The sample's stderr lines as Debian's GRUB 2.06 would print them, each change for a reason the module's
    docstring lists."""
    lines = [line.removeprefix("[simulated] ") if line in ("[simulated] Generating grub configuration file ...",
                                                           "[simulated] done") else line
             for line in sim.result.stderr.splitlines()]
    lines = [line for line in lines if not line.startswith("[simulated]")]
    # Arch's 10_linux patch
    lines = [line for line in lines if not re.match(r"Found (fallback|booster) initrd image\(s\) in ", line)]
    # upstream's 30_os-prober warns first; Debian's, without os-prober installed, is silent
    if shutil.which("os-prober") is None and any(line in OS_PROBER_WARNING for line in lines):
        start = lines.index(OS_PROBER_WARNING[0])
        assert tuple(lines[start:start + 3]) == OS_PROBER_WARNING, lines
        del lines[start:start + 3]
    # 2.12's 20_linux_xen names the real initrd first, 2.06's the early images (10_linux does so in both)
    return [early_first(line) if line.startswith("Found initrd image: ") else line for line in lines]


def early_first(line: str) -> str:
    head, paths = line.split(": ", 1)
    early = [p for p in paths.split() if p.rsplit("/", 1)[-1] in EARLY_INITRD.split()]
    return f"{head}: " + " ".join(early + [p for p in paths.split() if p not in early])


def real_messages(real: Side) -> list[str]:
    """The real tool's stderr lines without what this machine adds: grub-probe cannot open the machine's own disk
    (the sample's disks are simulated and found), and Debian's scripts sort versions with dpkg, which warns about
    names that are not versions."""
    return [line for line in real.result.stderr.splitlines()
            if not re.search(r"grub-probe: error: disk `[^']*' not found\.$", line)
            and not re.match(r"dpkg: warning: version '[^']*' has bad syntax: ", line)]


def as_debian(found: list[Entry], distributor: str) -> list[Entry]:
    """The sample's entries as Debian's GRUB 2.06 writes them: without Arch's 10_linux patch (its OS name, root
    mounted rw, the fallback and booster entries), and with 2.06's one module line for a Xen entry's initrds."""
    arch_os, upstream_os = f"{distributor} Linux".strip(), f"{distributor} GNU/Linux".strip()
    out = []
    for e in found:
        if e.script == "10_linux":
            if re.search(r"-(fallback|booster)-", e.id):
                assert e.title.endswith(("(fallback initramfs)", "(booster initramfs)")), e
                continue
            assert e.title.startswith(arch_os) and all(s.startswith(f"Advanced options for {arch_os}")
                                                       for s in e.submenus), e
            loaders = []
            for line in e.loaders:
                if line.startswith("linux "):
                    assert " rw" in line, line
                    line = line.replace(" rw", " ro", 1)
                loaders.append(line)
            e = replace(e, title=e.title.replace(arch_os, upstream_os, 1),
                        submenus=tuple(s.replace(arch_os, upstream_os, 1) for s in e.submenus), loaders=tuple(loaders))
        elif e.script == "20_linux_xen":
            initrds = [line for line in e.loaders if re.match(r"module2? --nounzip ", line)]
            if initrds:
                loader = initrds[0].split()[0]
                joined = early_first(f"x: {' '.join(line.split()[2] for line in initrds)}").split(": ", 1)[1]
                first = e.loaders.index(initrds[0])
                rest = [line for line in e.loaders if line not in initrds]
                e = replace(e, loaders=tuple(rest[:first] + [f"{loader} --nounzip {joined}"] + rest[first:]))
        out.append(e)
    return out


def distributor(host) -> str:
    found = re.findall(r'^GRUB_DISTRIBUTOR="?([^"\n]*)"?$', host.read_text("/etc/default/grub") or "", re.M)
    return found[-1] if found else ""


def assert_agree(host, sim: Side, real: Side) -> None:
    """Exit codes, stdout, stderr lines, what is left in /boot/grub and, where both wrote one, grub.cfg's entries,
    sections, default and timeouts."""
    assert sim.result.returncode == real.result.returncode, (sim.result, real.result)
    assert sim.result.stdout == real.result.stdout == ""
    assert sample_messages(sim) == real_messages(real), (sim.result.stderr, real.result.stderr)
    assert sim.listing() == real.listing()
    if real.result.ok:
        assert as_debian(sim.entries(), distributor(host)) == real.entries()
        sim_cfg, real_cfg = sim.cfg(), real.cfg()
        assert sections(sim_cfg) == sections(real_cfg)
        assert default_entry(sim_cfg) == default_entry(real_cfg)
        assert timeouts(sim_cfg) == menu_timeouts(real_cfg)


RECORDFAIL = re.compile(r'^if \[ "\$\{recordfail\}" = 1 \] ; then\n  set timeout=\d+\nelse\n', re.M)


def menu_timeouts(cfg: str) -> list[str]:
    """00_header's timeouts without Debian's recordfail one (the branch around the upstream code is left out)."""
    header = section(cfg, "00_header")
    assert RECORDFAIL.search(header), header
    return timeouts(cfg.replace(header, RECORDFAIL.sub("", header)))


def append(host, path: str, text: str) -> None:
    host.write_atomic(path, (host.read_text(path) + text).encode())


def test_grub_mkconfig_messages_output_and_entries_agree(host, tmp_path):
    host.write_atomic("/boot/grub/grub.cfg", b"old\n")
    os.chmod(host.real("/boot/grub/grub.cfg"), 0o640)
    sim, real = differ(host, tmp_path)
    assert real.result.ok and real.listing() == {"grub.cfg": 0o640, "grubenv": 0o644}  # replaced, its mode kept
    assert real.cfg() != "old\n"
    assert_agree(host, sim, real)
    assert [e.title for e in real.entries()] == ["Arch GNU/Linux", "Arch GNU/Linux, with Linux linux"]
    assert sections(real.cfg()) == ["00_header", "10_linux", "20_linux_xen", "30_os-prober", "40_custom",
                                    "41_custom"]
    # without -o: grub.cfg on stdout, nothing written
    sim2, real2 = differ(host, tmp_path, ("grub-mkconfig",))
    assert sim2.result.returncode == real2.result.returncode == 0
    # the same grub.cfg as -o wrote (the real one's paths name its own copy's folder)
    assert sim2.result.stdout == sim.cfg()
    assert real2.result.stdout == real.cfg().replace(str(real.root), str(real2.root))
    assert sim2.listing() == real2.listing() == {"grub.cfg": 0o640, "grubenv": 0o644}
    assert as_debian(sim2.entries(sim2.result.stdout), distributor(host)) == real2.entries(real2.result.stdout)
    assert sample_messages(sim2) == real_messages(real2)


def test_a_new_grub_cfg_is_readable_by_root_only(host, tmp_path):
    host.remove("/boot/grub/grub.cfg")
    sim, real = differ(host, tmp_path)
    assert real.listing() == {"grub.cfg": 0o600, "grubenv": 0o644}
    assert_agree(host, sim, real)


def test_without_etc_default_grub_the_built_in_defaults_apply(host, tmp_path):
    # grub-mkconfig sources /etc/default/grub only when it exists
    host.remove("/etc/default/grub")
    before = host.read_text("/boot/grub/grub.cfg")
    sim, real = differ(host, tmp_path)
    assert real.result.ok and real.cfg() != before and sim.cfg() != before
    assert_agree(host, sim, real)
    titles = [e.title for e in real.entries()]
    assert titles == ["GNU/Linux", "GNU/Linux, with Linux linux", "GNU/Linux, with Linux linux (recovery mode)"]


@pytest.mark.parametrize("value, expected", [('"xenbook-xen"', "xenbook-xen"), ("saved", "${saved_entry}")])
def test_a_managed_grub_default_wins(host, tmp_path, value, expected):
    text = ensure_block(host.read_text("/etc/default/grub"), "xen", f"GRUB_DEFAULT={value}\n")
    host.write_atomic("/etc/default/grub", text.encode())
    sim, real = differ(host, tmp_path)
    assert default_entry(real.cfg()) == expected
    assert_agree(host, sim, real)


def test_40_custom_entries_appear_only_while_executable(host, tmp_path):
    entry = ("menuentry 'Xen (xenbook)' $menuentry_id_option 'xenbook-xen' {\n"
             "\tmultiboot2 /xen.gz dom0_mem=2048M\n\tmodule2 /vmlinuz-linux root=UUID=x rw\n}\n")
    append(host, "/etc/grub.d/40_custom", entry)
    sim, real = differ(host, tmp_path)
    assert_agree(host, sim, real)
    assert section(sim.cfg(), "40_custom") == section(real.cfg(), "40_custom")
    assert section(real.cfg(), "40_custom").endswith("the 'exec tail' line above.\n" + entry)
    assert real.entries()[-1].id == "xenbook-xen"
    os.chmod(host.real("/etc/grub.d/40_custom"), 0o644)
    sim, real = differ(host, tmp_path)
    assert_agree(host, sim, real)
    assert "40_custom" not in sections(real.cfg()) and "xenbook-xen" not in real.cfg()


@pytest.mark.parametrize("password", [False, True])
def test_a_syntax_error_keeps_the_old_grub_cfg(host, tmp_path, password):
    # grub.cfg.new is left for the bug report, read-only unless it holds a password line
    append(host, "/etc/grub.d/40_custom", ("password_pbkdf2 root grub.pbkdf2.sha512.x\n" if password else "")
           + "menuentry 'broken' {\n")
    before = host.read_bytes("/boot/grub/grub.cfg")
    sim, real = differ(host, tmp_path)
    assert real.result.returncode == 1 and "Syntax errors are detected" in real.result.stderr
    assert real.file().read_bytes() == sim.file().read_bytes() == before
    assert real.listing() == {"grub.cfg": 0o600, "grub.cfg.new": 0o600 if password else 0o444, "grubenv": 0o644}
    # grub-script-check names the line of the error in each tool's own grub.cfg.new, which differ in length
    lines = {}
    for side, messages in ((sim, sample_messages(sim)), (real, real_messages(real))):
        numbers = [int(m[1]) for m in map(re.compile(r"^Syntax error at line (\d+)$").match, messages) if m]
        assert len(numbers) == 1 and 0 < numbers[0] <= side.file(CFG + ".new").read_text().count("\n") + 1
        lines[side.root] = [re.sub(r"^Syntax error at line \d+$", "Syntax error at line N", m) for m in messages]
    assert lines[sim.root] == lines[real.root]
    sim.result = real.result = Result(1)  # the messages are compared above
    assert_agree(host, sim, real)


def xen_entries(side: Side) -> list[Entry]:
    return [e for e in side.entries() if e.script == "20_linux_xen"]


def test_20_linux_xen_needs_a_dom0_kernel_config(host, tmp_path):
    install_xen(host)
    for config in (None, b"CONFIG_XEN=y\n# CONFIG_XEN_DOM0 is not set\n"):
        if config:
            host.write_atomic("/boot/config-linux", config)
        sim, real = differ(host, tmp_path)
        assert_agree(host, sim, real)
        assert xen_entries(real) == []
    host.write_atomic("/boot/config-linux", b"CONFIG_XEN=y\nCONFIG_XEN_DOM0=y\n")
    sim, real = differ(host, tmp_path)
    assert_agree(host, sim, real)
    loaders = {e.title: [line.split()[0] for line in e.loaders] for e in xen_entries(real)}
    assert loaders == {"Arch GNU/Linux, with Xen hypervisor": ["multiboot2", "module2", "module2"],
                       "Arch GNU/Linux, with Xen xen and Linux linux": ["multiboot2", "module2", "module2"],
                       # the microcode blob xen's scriptlet extracts counts as a hypervisor (20_linux_xen skips only
                       # xen-syms-*, xenpolicy-* and *.config), and grub-file finds no multiboot2 header in it
                       "Arch GNU/Linux, with Xen efi-intel-ucode.bin and Linux linux": ["multiboot", "module",
                                                                                         "module"]}
    host.remove("/boot/xen.gz")
    sim, real = differ(host, tmp_path)
    assert_agree(host, sim, real)
    assert [e.title for e in xen_entries(real)] == ["Arch GNU/Linux, with Xen hypervisor",
                                                    "Arch GNU/Linux, with Xen efi-intel-ucode.bin and Linux linux"]
    host.remove("/boot/xen-efi-intel-ucode.bin")
    sim, real = differ(host, tmp_path)
    assert_agree(host, sim, real)
    assert xen_entries(real) == []


def test_command_line_recovery_timeout_and_savedefault_settings(host, tmp_path):
    append(host, "/etc/default/grub", 'GRUB_CMDLINE_LINUX="console=ttyS0"\nGRUB_DISABLE_RECOVERY=false\n'
                                      "GRUB_TIMEOUT=1\nGRUB_SAVEDEFAULT=true\n")
    sim, real = differ(host, tmp_path)
    assert_agree(host, sim, real)
    assert menu_timeouts(real.cfg()) == ["1", "1"]
    assert [(e.title, e.savedefault) for e in real.entries()] == [
        ("Arch GNU/Linux", True), ("Arch GNU/Linux, with Linux linux", True),
        ("Arch GNU/Linux, with Linux linux (recovery mode)", False)]
    assert real.entries()[-1].loaders[0] == "linux /vmlinuz-linux root={root} ro single console=ttyS0"


def test_an_empty_grub_early_initrd_linux_stock_leaves_the_microcode_out(host, tmp_path):
    # grub-mkconfig gives GRUB_EARLY_INITRD_LINUX_STOCK its default before sourcing /etc/default/grub
    append(host, "/etc/default/grub", 'GRUB_EARLY_INITRD_LINUX_STOCK=""\n')
    sim, real = differ(host, tmp_path)
    assert_agree(host, sim, real)
    assert {e.loaders[1] for e in real.entries()} == {"initrd /initramfs-linux.img"}
    append(host, "/etc/default/grub", 'GRUB_EARLY_INITRD_LINUX_CUSTOM="intel-ucode.img"\n')
    sim, real = differ(host, tmp_path)
    assert_agree(host, sim, real)
    assert {e.loaders[1] for e in real.entries()} == {"initrd /intel-ucode.img /initramfs-linux.img"}


@pytest.mark.parametrize("argv", [("--bogus",), ("-x",), ("-o",), ("--output",), ("--help",), ("-h",),
                                  ("stray", "--output=/boot/grub/grub.cfg")], ids=repr)
def test_grub_mkconfig_reads_its_arguments_as_the_real_one(host, tmp_path, argv):
    sim, real = differ(host, tmp_path, ("grub-mkconfig", *argv))
    if argv[0] == "stray":  # grub-mkconfig ignores arguments that are not options
        assert real.result.ok
        assert_agree(host, sim, real)
    else:
        assert (sim.result.returncode, sim.result.stdout, sim.result.stderr) == \
            (real.result.returncode, real.result.stdout, real.result.stderr)
        assert sim.listing() == real.listing()


def test_grub_mkconfig_version_differs_in_the_version_only(host, tmp_path):
    sim, real = differ(host, tmp_path, ("grub-mkconfig", "-V"))
    assert sim.result.returncode == real.result.returncode == 0 and sim.result.stderr == real.result.stderr == ""
    # the sample simulates GRUB 2.12, this machine has 2.06
    assert sim.result.stdout == "grub-mkconfig (GRUB) 2.12\n"
    assert re.fullmatch(r"grub-mkconfig \(GRUB\) 2\.06\S*\n", real.result.stdout)


def test_an_output_in_a_missing_folder_fails_before_generating(host, tmp_path):
    sim, real = differ(host, tmp_path, ("grub-mkconfig", "-o", "/boot/nodir/grub.cfg"))
    assert sim.listing() == real.listing() and not real.file("boot/nodir").exists()
    assert sim.result.stdout == real.result.stdout == ""
    # the shell running grub-mkconfig words the error and picks the exit code: Arch's /bin/sh is bash, this
    # machine's is dash; either names PATH.new and prints nothing else
    assert (sim.result.returncode, sim.result.stderr) == (
        1, "grub-mkconfig: /boot/nodir/grub.cfg.new: No such file or directory\n")
    assert real.result.returncode == 2 and re.fullmatch(
        r"\S*grub-mkconfig: \d+: cannot create /boot/nodir/grub\.cfg\.new: Directory nonexistent\n",
        real.result.stderr)
