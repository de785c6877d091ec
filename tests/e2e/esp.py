"""A UEFI boot disk for the e2e boot: a raw GPT image whose one partition is an EFI system partition (FAT, made with
mkfs.fat and filled with mtools, no root needed), and OVMF variable stores with the boot entries.

The ESP's files sit at the paths xenbook's UEFI outputs name, relative to the ESP's root (xenbook mounts the ESP at
/boot, so /boot/xen.cfg is \\xen.cfg): xen.efi and xen.cfg side by side (xen.efi reads `<its own name>.cfg` from
its own folder, docs/misc/efi.pandoc), the kernel, ramdisk and ucode files xen.cfg names (relative to that folder),
and systemd-boot's loader/loader.conf and loader/entries/*.conf.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

from tests.e2e.qemu import OVMF_VARS

try:  # virt-firmware, a test extra: without it the UEFI boots are skipped (debian.missing_uefi names it)
    from virt.firmware.efi import devpath
    from virt.firmware.varstore import edk2
except ImportError:
    devpath = edk2 = None

SECTOR = 512
ESP_START = 2048  # sectors: the first partition at 1 MiB, as sfdisk and every partitioner put it
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"  # the EFI system partition's GPT type
SYSTEMD_BOOT = Path("/usr/lib/systemd/boot/efi/systemd-bootx64.efi")  # systemd-boot-efi
XEN_EFI = Path("/boot/xen-4.17-amd64.efi")                             # xen-hypervisor-4.17-amd64


def build(files: dict[str, Path], dest: Path, size_mib: int = 96) -> dict:
    """A GPT disk image at DEST with one ESP holding FILES (path on the ESP, '/'-separated -> file). Returns the
    partition as efibootmgr sees it: {'disk', 'part': 1, 'start', 'size' (sectors), 'uuid' (its PARTUUID)}."""
    fat = dest.with_suffix(".fat")
    fat.unlink(missing_ok=True)
    sectors = size_mib * 1024 * 1024 // SECTOR
    subprocess.run(["mkfs.fat", "-F", "32", "-n", "ESP", "-C", str(fat), str(sectors // 2)],
                   check=True, capture_output=True)
    folders = sorted({str(Path(p.lstrip("/")).parent) for p in files} - {"."}, key=len)
    for folder in folders:
        parts = Path(folder).parts
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            subprocess.run(["mmd", "-D", "s", "-i", str(fat), f"::/{sub}"], capture_output=True)
    for path, source in files.items():
        subprocess.run(["mcopy", "-o", "-i", str(fat), str(source), f"::/{path.lstrip('/')}"],
                       check=True, capture_output=True)
    with dest.open("wb") as disk:
        disk.truncate((ESP_START + sectors + 2048) * SECTOR)
    layout = f"label: gpt\nstart={ESP_START}, size={sectors}, type={ESP_TYPE}, name=\"EFI system partition\"\n"
    subprocess.run(["sfdisk", "-q", str(dest)], input=layout, text=True, check=True, capture_output=True)
    subprocess.run(["dd", f"if={fat}", f"of={dest}", "bs=1M", f"seek={ESP_START * SECTOR // (1024 * 1024)}",
                    "conv=notrunc", "status=none"], check=True)
    fat.unlink()
    table = json.loads(subprocess.run(["sfdisk", "--json", str(dest)], capture_output=True, text=True,
                                      check=True).stdout)["partitiontable"]["partitions"][0]
    return {"disk": str(dest), "part": 1, "start": table["start"], "size": table["size"], "uuid": table["uuid"]}


def vars_with_entry(dest: Path, label: str, loader: str, partition: dict | None, first: bool = True) -> Path:
    """A copy of OVMF's variable store at DEST with a Boot#### entry LABEL starting LOADER (an ESP path with
    backslashes), as `efibootmgr --create --disk D --part N --label L --loader F` writes it: the device path
    HD(N,GPT,<PARTUUID>,start,size)/File(F), the entry active, and put first in BootOrder (--create-only leaves
    BootOrder alone). With PARTITION None, the store is OVMF's as shipped (it boots \\EFI\\BOOT\\BOOTX64.EFI)."""
    shutil.copyfile(OVMF_VARS, dest)
    if partition is None:
        return dest
    store = edk2.Edk2VarStore(str(OVMF_VARS))
    varlist = store.get_varlist()
    path = devpath.DevicePath()
    for setup in (lambda e: e.set_gpt(partition["part"], partition["start"], partition["size"], partition["uuid"]),
                  lambda e: e.set_filepath(loader)):
        elem = devpath.DevicePathElem()
        setup(elem)
        path.append(elem)
    index = varlist.add_boot_entry(label, path)
    order = [index] + boot_order(varlist) if first else boot_order(varlist) + [index]
    if "BootOrder" not in varlist:
        varlist.create("BootOrder")
    varlist["BootOrder"].set_boot_order(order)
    store.write_varstore(str(dest), varlist)
    return dest


def boot_order(varlist) -> list[int]:
    data = bytes(varlist["BootOrder"].data) if "BootOrder" in varlist else b""
    return list(struct.unpack(f"<{len(data) // 2}H", data))


def boot_entries(vars_file: Path) -> dict[str, str]:
    """The store's Boot#### entries and BootOrder as virt-fw-vars prints them (name -> text)."""
    varlist = edk2.Edk2VarStore(str(vars_file)).get_varlist()
    return {name: varlist[name].fmt_data() for name in sorted(varlist) if name.startswith("Boot")}


def xen_cfg_section(text: str, name: str | None = None) -> dict[str, str]:
    """The keys of xen.cfg's section NAME (by default the one [global]'s default= names), as xen.efi reads them:
    `key=value` lines, '#' comments, the first occurrence of a key wins (get_value in xen/common/efi/boot.c)."""
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif current is not None and "=" in line:
            key, value = line.split("=", 1)
            current.setdefault(key.strip(), value.strip())
    return sections.get(name or sections.get("global", {}).get("default", ""), {})


def uefi_files(boot: Path, xen_cfg: str, dom0: dict[str, Path], systemd_boot: bool) -> dict[str, Path]:
    """The ESP's files for a host whose ESP is BOOT (its /boot): xen.efi (Debian's) and XEN_CFG beside it, the files
    xen.cfg names from DOM0 ('kernel', 'ramdisk', 'ucode' -> file), and with SYSTEMD_BOOT systemd-boot as the
    removable-media loader \\EFI\\BOOT\\BOOTX64.EFI (and at \\EFI\\systemd\\) with BOOT's loader/ exactly as written."""
    section = xen_cfg_section(xen_cfg)
    files = {"xen.efi": XEN_EFI}
    for key, source in dom0.items():
        if key in section:
            files[section[key].split()[0]] = source
    if systemd_boot:
        files["EFI/BOOT/BOOTX64.EFI"] = SYSTEMD_BOOT
        files["EFI/systemd/systemd-bootx64.efi"] = SYSTEMD_BOOT
        for path in sorted((boot / "loader").rglob("*")):
            if path.is_file():
                files[str(path.relative_to(boot))] = path
    return files
