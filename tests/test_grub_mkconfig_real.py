"""The real grub-mkconfig, with the real 00_header, 10_linux and 20_linux_xen, over the files xenbook wrote.

The sample host simulates grub-mkconfig (GRUB 2.12 with Arch's scripts). Here Debian's GRUB 2.06 runs instead, in a
private mount namespace over a temporary /boot holding the real Xen 4.17 image (so grub-file really decides between
multiboot2 and multiboot), /etc/grub.d with xenbook's 40_custom, and /etc/default/grub as xenbook edited it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.realgrub import CANNOT, copy_tree, default_entry, entry_ids, run_real, section, xen_lines
from tests.test_boot_paths import run
from xenbook_sample import SampleHost
from xenbook_sample import grub as simulated

pytestmark = pytest.mark.skipif(CANNOT is not None, reason=CANNOT or "")


@pytest.fixture(scope="module")
def booted(tmp_path_factory):
    """A bios-grub2 sample host after the install and boot sections."""
    host = tmp_path_factory.mktemp("grub") / "host"
    assert run("sample", "init", str(host), "--profile", "bios-grub2")[0] == 0
    code, out, err = run("apply", "--target", f"sample:{host}", "--sections", "install,boot")
    assert code == 0, out + err
    return host


def real_mkconfig(host: Path, work: Path, dom0_config: bool) -> str:
    """grub.cfg as the real grub-mkconfig writes it from host's files (its /boot with the real Xen image)."""
    copy_tree(host, work)
    if dom0_config:  # what 20_linux_xen needs to offer a kernel as dom0 (Arch's linux package ships none)
        (work / "boot/config-linux").write_text("CONFIG_XEN=y\nCONFIG_XEN_DOM0=y\n")
    result = run_real(work, ["grub-mkconfig", "-o", "/boot/grub/grub.cfg"])
    assert result.ok, result.stdout + result.stderr
    cfg = work / "boot/grub/grub.cfg"
    check = subprocess.run(["grub-script-check", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    return cfg.read_text()


def test_the_real_grub_mkconfig_keeps_xenbooks_entry_and_boots_it_by_default(booted, tmp_path):
    cfg = real_mkconfig(booted, tmp_path, dom0_config=False)
    custom = (booted / "etc/grub.d/40_custom").read_text()
    block = custom[custom.index("# BEGIN xenbook xen-entry"):]
    assert block in section(cfg, "40_custom"), "the managed entry must reach grub.cfg verbatim"
    assert default_entry(cfg) == "xenbook-xen" and entry_ids(cfg).count("xenbook-xen") == 1
    # without /boot/config-linux (as Arch's linux package leaves it) 20_linux_xen offers no Xen entry at all,
    # which is why xenbook writes its own; the simulated grub-mkconfig agrees
    assert "menuentry" not in section(cfg, "20_linux_xen")
    sim = (booted / "boot/grub/grub.cfg").read_text()
    assert "menuentry" not in section(sim, "20_linux_xen")
    assert section(sim, "40_custom") == section(cfg, "40_custom")
    assert default_entry(sim) == default_entry(cfg)


def test_the_real_20_linux_xen_uses_multiboot2_with_xenbooks_xen_options(booted, tmp_path):
    cfg = real_mkconfig(booted, tmp_path, dom0_config=True)
    generated = section(cfg, "20_linux_xen")
    options = re.search(r'^GRUB_CMDLINE_XEN_DEFAULT="([^"]*)"$', (booted / "etc/default/grub").read_text(), re.M)[1]
    assert "dom0_mem=" in options
    loaders = xen_lines(generated)
    assert len(loaders) == 2, generated  # the simple entry and the advanced one
    # grub-file --is-x86-multiboot2 on the real Xen 4.17 image chose multiboot2, as the simulation assumes
    assert all(line == f"placeholder  {options} ${{xen_rm_opts}}" for line in loaders), loaders
    assert re.findall(r"^\s*(multiboot2?)\s+\S+/xen\.gz\s", generated, re.M) == ["multiboot2", "multiboot2"]
    # 20_linux_xen takes every /boot/xen* for a hypervisor: the xen package's extracted microcode blob gets an entry
    # of its own (xenbook's entry is in 40_custom and is not affected)
    assert len(xen_lines(generated, "/xen-efi-intel-ucode.bin")) == 1, generated
    # the simulated GRUB 2.12 writes the same Xen lines; it differs from Debian's 2.06 in the initrd lines only:
    # 2.12 loads the real initrd first and each file with its own module2 (GRUB commits of August 2022), while
    # 2.06 puts the microcode first and both on one module2 line (so the second is the first's command line)
    host = SampleHost(str(booted))
    (booted / "boot/config-linux").write_text("CONFIG_XEN=y\nCONFIG_XEN_DOM0=y\n")
    try:
        sim = section(simulated.generate(host), "20_linux_xen")
    finally:
        (booted / "boot/config-linux").unlink()
    assert xen_lines(sim) == loaders
    real_initrds = [[p.rsplit("/", 1)[-1] for p in line.split()[2:]] for line in generated.splitlines()
                    if "module2\t--nounzip" in line]
    assert real_initrds == [["intel-ucode.img", "initramfs-linux.img"]] * 2, generated
    sim_initrds = [line.split()[-1] for line in sim.splitlines() if "module2\t--nounzip" in line]
    # both load the microcode blob's entry with multiboot (the blob has no multiboot2 header), so it has no module2
    assert sim_initrds == ["/initramfs-linux.img", "/intel-ucode.img"] * 2
    assert [line.split()[0] for line in sim.splitlines() if "/xen-efi-intel-ucode.bin" in line] == ["multiboot"]


def linux_initrds(cfg: str) -> list[list[str]]:
    """The file names on each initrd line of 10_linux's entries."""
    return [[p.rsplit("/", 1)[-1] for p in line.split()[1:]] for line in section(cfg, "10_linux").splitlines()
            if line.strip().startswith("initrd")]


def test_the_real_10_linux_gives_a_pv_guest_one_initrd_per_entry(tmp_path):
    # a bios-grub2 machine with intel-ucode, made ready as a PV guest: xenbook's GRUB_EARLY_INITRD_LINUX_STOCK=""
    # must leave the microcode image off every initrd line, since pygrub reads the line as one path
    host = tmp_path / "host"
    assert run("sample", "init", str(host), "--profile", "bios-grub2")[0] == 0
    code, out, err = run("apply", "--target", f"sample:{host}", "--sections", "pv-guest",
                         "--set", "pv_guest.agent=none")
    assert code == 0, out + err
    assert 'GRUB_EARLY_INITRD_LINUX_STOCK=""' in (host / "etc/default/grub").read_text()
    assert (host / "boot/intel-ucode.img").exists()
    real = linux_initrds(real_mkconfig(host, tmp_path / "work", dom0_config=False))
    assert real and all(names == ["initramfs-linux.img"] for names in real), real
    # the simulated GRUB 2.12 agrees; Arch's 10_linux also writes a fallback entry, which Debian's 2.06 does not
    sim = linux_initrds((host / "boot/grub/grub.cfg").read_text())
    assert ["initramfs-linux-fallback.img"] in sim
    assert [names for names in sim if names != ["initramfs-linux-fallback.img"]] == real
