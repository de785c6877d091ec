"""Fixtures of the e2e tier: one sample host taken through xenbook's sections, the images built from its outputs
once per session, and ISOs booted under QEMU, each QEMU stopped by its own process id at teardown."""

from __future__ import annotations

import itertools
import shutil

import pytest

from tests.artifacts import artifact_dir
from tests.e2e import debian, esp, host, iso, qemu


@pytest.fixture(scope="session")
def e2e_ready():
    gone = debian.missing()
    if gone:
        pytest.skip("the e2e boot needs Debian's packages (scripts/test installs them); missing: " + ", ".join(gone))


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory):
    return artifact_dir(tmp_path_factory, "xen-e2e", "e2e artifacts (ISOs, initramfs images, serial consoles)")


@pytest.fixture(scope="session")
def xen_images(e2e_ready, e2e_dir):
    return host.images(host.prepare(e2e_dir / "sample"), e2e_dir)


@pytest.fixture(scope="session")
def qemu_processes():
    started: list = []
    yield started
    for proc in started:
        qemu.stop(proc)


@pytest.fixture(scope="session")
def boot_entry(xen_images, e2e_dir, qemu_processes):
    """boot_entry(name, entry=None, cpu=qemu.CPU) -> qemu.Boot: an ISO of ENTRY (xenbook's, by default) with the
    session's files, booted to the end or to the first failure; its console is kept beside the ISO."""
    counter = itertools.count()

    def boot(name: str, entry: str | None = None, timeout: float = 360.0, cpu: str = qemu.CPU) -> qemu.Boot:
        work = e2e_dir / f"{next(counter):02d}-{name}"
        work.mkdir()
        image = iso.build(iso.iso_entry(entry or xen_images.entry), xen_images.files, work / f"{name}.iso", work)
        shutil.rmtree(work / "iso-root")
        result = qemu.boot(image, work / "console.log", timeout=timeout, processes=qemu_processes, cpu=cpu)
        print(f"\n{name}: {result.explain().splitlines()[0]} (console: {result.log})")
        return result

    return boot


@pytest.fixture(scope="session")
def uefi_ready(e2e_ready):
    gone = debian.missing_uefi()
    if gone:
        pytest.skip("the UEFI boot needs: " + ", ".join(gone))


@pytest.fixture(scope="session")
def uefi_host(uefi_ready, e2e_dir):
    """(the uefi-systemd-boot sample host after install and boot, the argv of its planned efibootmgr command)."""
    return host.prepare_uefi(e2e_dir / "uefi-sample")


@pytest.fixture(scope="session")
def boot_uefi(uefi_ready, xen_images, uefi_host, e2e_dir, qemu_processes):
    """boot_uefi(name, systemd_boot, xen_cfg=None, until=None) -> qemu.Boot: an ESP with xen.efi, xen.cfg (the host's, by default)
    and the files it names, booted by OVMF through systemd-boot (SYSTEMD_BOOT) or through a Boot#### entry made as
    the host's efibootmgr command makes it; the console, disk and variables are kept in the boot's folder."""
    sample, efibootmgr = uefi_host
    counter = itertools.count()
    dom0 = {"kernel": xen_images.files["/vmlinuz-linux"], "ramdisk": xen_images.files["/initramfs-linux.img"]}
    ucode = e2e_dir / "not-microcode.bin"  # QEMU's CPU takes no microcode: xen.cfg's ucode= file only has to exist
    ucode.write_bytes(b"\0" * 64)
    dom0["ucode"] = ucode

    def boot(name: str, systemd_boot: bool, xen_cfg: str | None = None, timeout: float = 360.0,
             until: str | None = None) -> qemu.Boot:
        work = e2e_dir / f"uefi-{next(counter):02d}-{name}"
        work.mkdir()
        cfg = work / "xen.cfg"
        cfg.write_text(xen_cfg if xen_cfg is not None else (sample / "boot/xen.cfg").read_text())
        # the files sit where the host's own xen.cfg names them, so a broken xen.cfg names what is not there
        files = esp.uefi_files(sample / "boot", (sample / "boot/xen.cfg").read_text(), dom0, systemd_boot)
        files["xen.cfg"] = cfg
        disk = work / "disk.img"
        partition = esp.build(files, disk)
        if systemd_boot:
            vars_file = esp.vars_with_entry(work / "vars.fd", "", "", None)
        else:
            opts = dict(zip(efibootmgr[2::2], efibootmgr[3::2]))  # efibootmgr --create --disk D --part N ...
            assert efibootmgr[:2] == ["efibootmgr", "--create"] and opts["--part"] == str(partition["part"])
            vars_file = esp.vars_with_entry(work / "vars.fd", opts["--label"], opts["--loader"], partition)
        result = qemu.boot(qemu.uefi(disk, vars_file), work / "console.log", timeout=timeout,
                           processes=qemu_processes, until=until)
        print(f"\nuefi {name}: {result.explain().splitlines()[0]} (console: {result.log})")
        return result

    return boot
