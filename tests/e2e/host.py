"""xenbook's own outputs for the e2e boot: a sample host taken through install, boot, dom0, the reboot and one
guest, by the xenbook command line exactly as a user runs it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.e2e import debian, initramfs, iso, network

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7xenbookTestKeyOnlyForTests admin@example"

# What this boot differs in from the sample's defaults, all through xenbook's own parameters: Xen's console on
# the serial port QEMU shows, dom0 and the guest small enough for a 2 GiB emulated machine. dom0's kernel console
# is not set here: with Xen's console on com1 the boot section itself ends dom0's options with console=hvc0.
BOOT = """\
boot:
  dom0_mem: 512M
  console: com1
  com1: 115200,8n1
  loglvl: info
"""
PARAMS = """\
target: sample:{host}
""" + BOOT + """\
guests:
  - name: dom01
    memory: 256
    vcpus: 1
    ssh_key: {key}
"""


def xenbook(*args: str) -> tuple[int, str]:
    proc = subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=300,
                          env={**os.environ, "XENBOOK_SAMPLE_BUILD_SECONDS": "0"})
    return proc.returncode, proc.stdout + proc.stderr


def prepare(host: Path) -> Path:
    """A sample host at HOST after the install, boot and dom0 sections, the reboot into Xen and the guest."""
    params = host.with_name(host.name + ".yaml")
    params.write_text(PARAMS.format(host=host, key=KEY))
    steps = [(["sample", "init", str(host)], 0),
             (["apply", "--params", str(params), "--sections", "install,boot,dom0"], 3),
             (["reboot", "--target", f"sample:{host}"], 0),
             (["apply", "--params", str(params), "--sections", "dom0,domu"], 0)]
    for args, expected in steps:
        code, out = xenbook(*args)
        assert code == expected, f"xenbook {' '.join(args)} exited {code}, not {expected}:\n{out}"
    return host


def prepare_uefi(host: Path) -> tuple[Path, list[str]]:
    """A `uefi-systemd-boot` sample host at HOST after the install and boot sections (xen.cfg, the systemd-boot
    entry, loader.conf), and the argv of the efibootmgr command the boot section plans with uefi_entry efibootmgr."""
    params = host.with_name(host.name + ".yaml")
    params.write_text(f"target: sample:{host}\n" + BOOT)
    code, out = xenbook("sample", "init", "--profile", "uefi-systemd-boot", str(host))
    assert code == 0, out
    code, out = xenbook("apply", "--params", str(params), "--sections", "install,boot")
    assert code == 0, f"xenbook apply exited {code}:\n{out}"
    firmware = host.with_name(host.name + "-efibootmgr.yaml")
    firmware.write_text(f"target: sample:{host}\n" + BOOT + "  uefi_entry: efibootmgr\n")
    code, out = xenbook("plan", "--params", str(firmware), "--sections", "boot", "--json")
    assert code == 0, out
    plan = json.JSONDecoder().raw_decode(out[out.index("{"):])[0]
    step = next(s for s in plan["steps"] if s["name"] == "FirmwareXenEntry")
    return host, shlex.split(step["commands"][0])


@dataclass
class Images:
    """What the ISOs are made of: the entry xenbook wrote, and the files placed at the paths it names."""
    entry: str
    guest_cfg: str
    files: dict[str, Path]


def images(host: Path, work: Path) -> Images:
    """Debian's Xen and kernel, dom0's initramfs (holding the guest's configuration, kernel and ramdisk at the
    paths the configuration names) and an empty microcode archive, mapped to the paths of HOST's Xen entry."""
    entry = iso.xen_entry(host / "etc/grub.d/40_custom")
    guest_cfg = (host / "etc/xen/dom01.cfg").read_text()
    vmlinuz, modules = debian.kernel(initramfs.DOM0_MODULES | initramfs.GUEST_MODULES)
    guest_ramdisk = initramfs.guest(work / "guest-initramfs.img", modules)
    bridge = work / "xenbr0.sh"
    bridge.write_text(network.script(host / "etc/systemd/network"))
    dom0_files = {"etc/xen/dom01.cfg": host / "etc/xen/dom01.cfg", "etc/xen/xl.conf": host / "etc/xen/xl.conf",
                  "etc/xenbook-e2e/network.sh": bridge}
    for key, source in (("kernel", vmlinuz), ("ramdisk", guest_ramdisk)):
        dom0_files[_cfg_value(guest_cfg, key)] = source
    dom0_ramdisk = initramfs.dom0(work / "dom0-initramfs.img", modules, dom0_files)
    no_microcode = work / "no-microcode.img"
    no_microcode.write_bytes(initramfs.Tree().cpio())  # QEMU's CPU gets none; Xen's ucode=scan finds none
    loaded = iso.loaded_paths(entry)
    assert [c for c, _ in loaded][:3] == ["multiboot2", "module2", "module2"], entry
    files = {loaded[0][1]: debian.XEN_GZ, loaded[1][1]: vmlinuz, loaded[2][1]: dom0_ramdisk}
    files.update({path: no_microcode for _, path in loaded[3:]})
    return Images(entry, guest_cfg, files)


def _cfg_value(cfg: str, key: str) -> str:
    for line in cfg.splitlines():
        name, _, value = line.partition("=")
        if name.strip() == key:
            return value.strip().strip('"')
    raise KeyError(key)
