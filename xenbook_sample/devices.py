"""The /proc and /sys files a sample profile's hardware shows: ACPI tables, IOMMU units, loaded modules."""

from __future__ import annotations

import struct

from xenbook_sample.profiles import Profile

Entry = tuple[str, "bytes | None", int, "str | None"]  # path, data (None: a directory or link), mode, link target
ACPI = "/sys/firmware/acpi/tables"
EFI_GLOBAL = "8be4df61-93ca-11d2-aa0d-00e098032b8c"  # EFI_GLOBAL_VARIABLE, the vendor GUID of SecureBoot


def acpi_table(signature: str, body: bytes = b"", revision: int = 1) -> bytes:
    """An ACPI table: the 36-byte header (OEM "XENBK", table id "SIMULATD") with a valid checksum, then body."""
    length = 36 + len(body)
    head = struct.pack("<4sIBB6s8sI4sI", signature.encode(), length, revision, 0, b"XENBK ", b"SIMULATD", 1, b"XBK ",
                       1)
    data = bytearray(head + body)
    data[9] = (-sum(data)) & 0xFF
    return bytes(data)


def _dmar() -> bytes:
    """DMAR: 39-bit host address width, interrupt remapping, one remapping unit for every PCI device."""
    drhd = struct.pack("<HHBBHQ", 0, 16, 1, 0, 0, 0xFED90000)
    return acpi_table("DMAR", struct.pack("<BB10x", 38, 1) + drhd)


def _ivrs() -> bytes:
    """IVRS: one IOMMU (IVHD type 0x10) at PCI 00:00.2."""
    ivhd = struct.pack("<BBHHHQHHI", 0x10, 0xB0, 24, 0x0002, 0x40, 0xFD200000, 0, 0, 0)
    return acpi_table("IVRS", struct.pack("<I8x", 0x00203041) + ivhd, revision=2)


def _modules(profile: Profile) -> str:
    """/proc/modules: name, size, users, users' names, state, address (0 without CAP_SYSLOG); newest first."""
    rows: list[tuple[str, int, int, str]] = []
    flags = set(profile.cpu.flags)
    if "vmx" in flags:
        rows += [("kvm_intel", 454656, 0, "-"), ("kvm", 1445888, 1, "kvm_intel,"), ("irqbypass", 12288, 1, "kvm,")]
    if "svm" in flags:
        rows += [("kvm_amd", 237568, 0, "-"), ("kvm", 1445888, 1, "kvm_amd,"), ("irqbypass", 12288, 1, "kvm,"),
                 ("ccp", 155648, 1, "kvm_amd,")]
    fstypes = {p.fstype for d in profile.disks for p in d.partitions if p.mount}
    if "btrfs" in fstypes:
        rows += [("btrfs", 2179072, 1, "-"), ("xor", 20480, 1, "btrfs,"), ("raid6_pq", 122880, 1, "btrfs,")]
    if "vfat" in fstypes:
        rows += [("vfat", 24576, 1, "-"), ("fat", 110592, 1, "vfat,")]
    rows += [("e1000e", 364544, 0, "-") if profile.cpu.vendor == "GenuineIntel" else ("r8169", 126976, 0, "-"),
             ("ext4", 1171456, 2 if "/boot" in {p.mount for d in profile.disks for p in d.partitions} else 1, "-"),
             ("crc16", 12288, 1, "ext4,"), ("mbcache", 12288, 1, "ext4,"), ("jbd2", 212992, 1, "ext4,")]
    return "".join(f"{n} {size} {users} {deps} Live 0x0000000000000000\n" for n, size, users, deps in rows)


def files(profile: Profile) -> list[Entry]:
    """Profile's device files: ACPI tables (DMAR or IVRS with the IOMMU on), /sys/class/iommu, /proc/modules,
    and on UEFI the SecureBoot variable."""
    out: list[Entry] = [(f"{ACPI}/FACP", acpi_table("FACP", bytes(240), revision=6), 0o400, None),
                        (f"{ACPI}/APIC", acpi_table("APIC", struct.pack("<II", 0xFEE00000, 1)), 0o400, None),
                        ("/proc/modules", _modules(profile).encode(), 0o444, None)]
    if profile.virt.startswith("xen-"):  # a Xen guest: the hypervisor in sysfs, the features without XENFEAT_dom0
        out += [("/sys/hypervisor/type", b"xen\n", 0o444, None),
                ("/sys/hypervisor/guest_type", f"{profile.virt[4:].upper()}\n".encode(), 0o444, None),
                ("/sys/hypervisor/properties/features", b"0000b2f1\n", 0o444, None),
                ("/sys/devices/system/clocksource/clocksource0/current_clocksource", b"xen\n", 0o444, None)]
    if profile.boot_mode == "uefi":  # Secure Boot off: attributes (boot service and runtime access), then 0
        out.append((f"/sys/firmware/efi/efivars/SecureBoot-{EFI_GLOBAL}", b"\x06\x00\x00\x00\x00", 0o644, None))
    if profile.iommu:
        if profile.cpu.vendor == "AuthenticAMD":
            unit, device = "ivhd0", "/sys/devices/pci0000:00/0000:00:00.2/iommu/ivhd0"
            out += [(f"{ACPI}/IVRS", _ivrs(), 0o400, None),
                    (f"{device}/amd-iommu/cap", b"0x00190040\n", 0o444, None)]
        else:
            unit, device = "dmar0", "/sys/devices/virtual/iommu/dmar0"
            out += [(f"{ACPI}/DMAR", _dmar(), 0o400, None),
                    (f"{device}/intel-iommu/version", b"1:0\n", 0o444, None)]
        out.append((f"/sys/class/iommu/{unit}", None, 0o777, "../.." + device[len("/sys"):]))
    else:
        out.append(("/sys/class/iommu", None, 0o755, None))
    return out
