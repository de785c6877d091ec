"""Facts the firmware publishes: IOMMU ACPI tables, and Secure Boot's state on UEFI machines."""

from __future__ import annotations

from dataclasses import dataclass

from xenbook.core.errors import HostError
from xenbook.core.host import Host

ACPI_TABLES = "/sys/firmware/acpi/tables"
IOMMU_TABLES = {"DMAR": "Intel VT-d", "IVRS": "AMD-Vi"}
IOMMU_CLASS = "/sys/class/iommu"
SECURE_BOOT_VAR = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"


@dataclass(frozen=True)
class Iommu:
    """The IOMMU the firmware describes (DMAR or IVRS table) and the units Linux enabled."""

    table: str | None  # DMAR (Intel VT-d), IVRS (AMD-Vi) or None
    units: list[str]  # /sys/class/iommu entries, e.g. dmar0 or ivhd0; empty under Xen, which owns the IOMMU

    @property
    def name(self) -> str:
        return IOMMU_TABLES.get(self.table or "", "none")


def iommu(host: Host) -> Iommu:
    """The IOMMU ACPI table present (firmware has VT-d/AMD-Vi on) and the IOMMU units Linux registered."""
    table = next((t for t in IOMMU_TABLES if host.exists(f"{ACPI_TABLES}/{t}")), None)
    return Iommu(table, host.listdir(IOMMU_CLASS) or [])


def secure_boot(host: Host) -> bool | None:
    """True when UEFI Secure Boot is on, False when off, None when unknown (BIOS, or efivars not readable)."""
    try:
        data = host.read_bytes(SECURE_BOOT_VAR)
    except HostError:
        return None
    if data is None or len(data) < 5:  # 4 bytes of attributes, then the value
        return None
    return data[4] == 1
