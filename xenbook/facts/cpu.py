"""Facts about the processors: vendor, model, count, and hardware virtualisation (VT-x / AMD-V)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from xenbook.core.host import Host
from xenbook.facts.kernel import kernel_log

VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon"}
VIRT_FLAGS = {"vmx": "Intel VT-x", "svm": "AMD-V"}

# Kernel log lines saying the firmware switched VT-x or AMD-V off:
# x86/cpu (feat_ctl.c): "VMX (outside TXT) disabled by BIOS";
# kvm_intel: "VMX not enabled (by BIOS) in MSR_IA32_FEAT_CTL on CPU 0"; older kvm: "kvm: disabled by bios";
# x86/cpu (amd.c) and kvm_amd: "SVM disabled (by BIOS) in MSR_VM_CR".
FIRMWARE_DISABLED = re.compile(r"VMX \(outside TXT\) disabled by BIOS|VMX not enabled \(by BIOS\)"
                               r"|kvm: disabled by bios|SVM disabled \(by BIOS\)", re.IGNORECASE)

# Model names of processor lines that, as far as we know, all have VT-x or AMD-V. A heuristic, so a match only
# says "probably": some old Core 2, Celeron and Athlon parts lack it. Intel: Core (i3/i5/i7/i9, Core Ultra,
# Core 3/5/7), Xeon, Pentium Gold/Silver, Celeron N-series, the N100-style Alder Lake-N parts.
# AMD: Ryzen (and Threadripper), EPYC, Opteron, Athlon, Phenom. Hygon: Dhyana (Zen based).
PROBABLY_CAPABLE = re.compile(
    r"\bCore\b|\bXeon\b|Pentium(\(R\))? (Gold|Silver)|Celeron(\(R\))? N\d|Intel(\(R\))? N\d{2,3}\b"
    r"|\bRyzen\b|\bThreadripper\b|\bEPYC\b|\bOpteron\b|\bAthlon\b|\bPhenom\b|\bHygon\b")



@dataclass(frozen=True)
class CpuInfo:
    """What /proc/cpuinfo says about the processors."""

    vendor_id: str
    model_name: str
    count: int
    flags: tuple[str, ...]

    @property
    def vendor(self) -> str:
        return VENDORS.get(self.vendor_id, self.vendor_id or "unknown")

    @property
    def virt_flag(self) -> str | None:
        """vmx or svm when the kernel sees hardware virtualisation, else None."""
        return next((f for f in VIRT_FLAGS if f in self.flags), None)

    @property
    def in_vm(self) -> bool:
        """True when the kernel runs under a hypervisor (the cpuinfo 'hypervisor' flag)."""
        return "hypervisor" in self.flags


def parse_cpuinfo(text: str) -> CpuInfo:
    """CpuInfo from /proc/cpuinfo's "key<TAB>: value" blocks, one per logical processor."""
    blocks = []
    for chunk in text.split("\n\n"):
        fields = {}
        for line in chunk.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        if "processor" in fields:
            blocks.append(fields)
    first = blocks[0] if blocks else {}
    return CpuInfo(first.get("vendor_id", ""), first.get("model name", ""), len(blocks),
                   tuple(first.get("flags", "").split()))


def cpu_info(host: Host) -> CpuInfo | None:
    """The processors as /proc/cpuinfo lists them, or None when it cannot be read."""
    text = host.read_text("/proc/cpuinfo")
    return None if text is None else parse_cpuinfo(text)


def probably_capable(model_name: str) -> bool:
    """True when the model name belongs to a line that (almost always) has VT-x or AMD-V."""
    return bool(PROBABLY_CAPABLE.search(model_name))


def firmware_remedy(vendor: str) -> str:
    """What to switch on in the firmware setup for vendor's processors (today's names)."""
    what = {"Intel": "Intel VT-x (\"Intel Virtualization Technology\"), and VT-d for PCI passthrough,",
            "AMD": "AMD-V (\"SVM Mode\"), and AMD-Vi (\"IOMMU\") for PCI passthrough,",
            "Hygon": "SVM Mode, and the IOMMU for PCI passthrough,"}.get(
        vendor, "Intel VT-x and VT-d, or AMD-V (SVM Mode) and AMD-Vi (IOMMU),")
    return f"enable {what} in the firmware (BIOS/UEFI) setup, then power the machine off and on"


_STAMP = re.compile(r"^\[\s*[0-9.]+\]\s*")


def firmware_disabled_lines(log: list[str]) -> list[str]:
    """The kernel log messages (without dmesg's timestamps) saying the firmware switched VT-x or AMD-V off."""
    return [_STAMP.sub("", line.strip()) for line in log if FIRMWARE_DISABLED.search(line)]


@dataclass(frozen=True)
class Virtualization:
    """Hardware virtualisation as bare-metal Linux sees it, and why it may be missing."""

    flag: str | None  # vmx, svm or None
    name: str  # Intel VT-x or AMD-V: the flag's name, or what the vendor would call it
    firmware_evidence: list[str]  # kernel log lines saying the firmware disabled it
    log_readable: bool  # False when the kernel log could not be read (dmesg needs root on many hosts)
    model_probably_capable: bool
    in_vm: bool

    @property
    def firmware_disabled(self) -> str:
        """'yes' (the kernel said so), 'probably' (the model has it), 'unknown', or '' when present."""
        if self.flag:
            return ""
        if self.firmware_evidence:
            return "yes"
        return "probably" if self.model_probably_capable else "unknown"


def virtualization(host: Host, cpu: CpuInfo) -> Virtualization:
    """Whether cpu has VT-x/AMD-V, and evidence that the firmware disabled it when it does not."""
    name = VIRT_FLAGS.get(cpu.virt_flag or "", "AMD-V" if cpu.vendor in ("AMD", "Hygon") else "Intel VT-x")
    log = None if cpu.virt_flag else kernel_log(host)
    return Virtualization(cpu.virt_flag, name, firmware_disabled_lines(log or []), log is not None,
                          probably_capable(cpu.model_name), cpu.in_vm)
