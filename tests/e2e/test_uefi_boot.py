"""xenbook's UEFI outputs booted for real: Debian's OVMF, Debian's xen.efi with the xen.cfg xenbook wrote on the
`uefi-systemd-boot` sample host beside it, dom0 and the guest as in the GRUB 2 boot. Once through systemd-boot with
xenbook's loader entry and loader.conf, once by a firmware boot entry made as xenbook's efibootmgr command makes it,
and with xen.cfg broken two ways, each failing in xen.efi's loader with the file or section it names."""

from __future__ import annotations

import re

import pytest

from tests.e2e import esp, qemu, recordings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TITLE = "Arch Linux (linux), with Xen hypervisor"


@pytest.fixture(scope="module")
def systemd_boot(boot_uefi):
    return boot_uefi("systemd-boot", systemd_boot=True)


@pytest.fixture(scope="module")
def nvram_boot(boot_uefi):
    """The firmware's entry to dom0 and `xl info` only: the guest ran in the systemd-boot boot, from the same ESP
    files but systemd-boot (a short boot on a 2-core CI)."""
    return boot_uefi("nvram-entry", systemd_boot=False, until="xl-info")


def _xen_cfg(uefi_host) -> str:
    return (uefi_host[0] / "boot/xen.cfg").read_text()


def test_systemd_boot_starts_xenbooks_entry_and_the_guest_runs(systemd_boot, uefi_host):
    systemd_boot.assert_reached(qemu.UEFI_STAGES)
    entry = (uefi_host[0] / "boot/loader/entries/xenbook-xen.conf").read_text()
    assert f"title   {TITLE}" in entry and "efi     /xen.efi" in entry
    # the firmware started systemd-boot from the removable-media path, and systemd-boot showed xenbook's entry
    assert re.search(r"BdsDxe: starting Boot[0-9A-F]{4} .*", systemd_boot.console), systemd_boot.explain()
    assert TITLE in systemd_boot.console, systemd_boot.explain()
    assert "Using configuration file 'xen.cfg'" in systemd_boot.console, systemd_boot.explain()


def test_xen_efi_reads_xenbooks_xen_cfg(systemd_boot, uefi_host):
    systemd_boot.assert_reached(qemu.UEFI_STAGES[:7])
    section = esp.xen_cfg_section(_xen_cfg(uefi_host))
    assert f"(XEN) Command line: {section['options']}" in systemd_boot.console or \
        re.search(r"^\(XEN\) Command line: .*" + re.escape(section["options"]) + r"\s*$", systemd_boot.console, re.M), \
        systemd_boot.explain()
    kernel, _, dom0_args = section["kernel"].partition(" ")
    assert dom0_args.endswith("console=hvc0")  # the boot section's own, for Xen's console on com1
    assert f"dom0 cmdline: {dom0_args}" in systemd_boot.console, systemd_boot.explain()
    assert re.search(r"^Domain-0\s+0\s+512\s", systemd_boot.console, re.M), systemd_boot.explain()


def test_the_firmware_entry_efibootmgr_would_make_boots_xen_efi(nvram_boot, uefi_host):
    _host, argv = uefi_host
    assert argv[:2] == ["efibootmgr", "--create"] and argv[argv.index("--loader") + 1] == "\\xen.efi"
    label = argv[argv.index("--label") + 1]
    nvram_boot.assert_reached(qemu.UEFI_STAGES[:qemu.UEFI_STAGES.index("xl-info") + 1])
    started = re.search(r"BdsDxe: starting Boot([0-9A-F]{4}) \"(.*?)\"", nvram_boot.console)
    assert started and started[2] == label, nvram_boot.explain()
    assert TITLE not in nvram_boot.console  # no systemd-boot on this ESP
    # after the boot the firmware still has the entry as written, first in BootOrder (OVMF added its own after it)
    entries = esp.boot_entries(nvram_boot.log.parent / "vars.fd")
    number = f"Boot{started[1]}"
    assert f'title="{label}"' in entries[number] and "Partition(nr=1)/FilePath(\\xen.efi)" in entries[number]
    assert entries["BootOrder"].startswith(f"boot order: {started[1]}"), entries


@pytest.mark.parametrize("name, breakage, failure", [
    ("missing-kernel", lambda cfg: cfg.replace("kernel=vmlinuz-linux ", "kernel=vmlinuz-missing "),
     "Open failed for vmlinuz-missing: Not found"),
    ("missing-section", lambda cfg: cfg.replace("[xenbook]", "[xen-renamed]"),
     "No initial domain kernel specified."),
])
def test_a_broken_xen_cfg_fails_in_xen_efis_loader(boot_uefi, uefi_host, name, breakage, failure):
    broken = breakage(_xen_cfg(uefi_host))
    assert broken != _xen_cfg(uefi_host)
    result = boot_uefi(name, systemd_boot=False, xen_cfg=broken, timeout=180)
    assert result.last_stage == "xen-efi", result.explain()
    assert result.failure == failure, result.explain()
    # what xen.efi printed, from its banner to its error, kept for xenbook doctor's catalogue
    start = re.search(r"Xen \d+\.\d+\S* \(c/s [^)]*\) EFI loader", result.console).start()
    end = result.console.index(failure, start) + len(failure)
    recordings.keep(f"xen-cfg-{name}", result.console[start:end], re.escape(failure))
