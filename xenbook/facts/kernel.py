"""Facts about the running kernel: its log, its image compression, its loaded modules."""

from __future__ import annotations

from xenbook.core.commands import Command
from xenbook.core.host import Host

COMPRESSIONS = ("GZIP", "BZIP2", "LZMA", "XZ", "LZO", "LZ4", "ZSTD")

# Modules of other hypervisors: VirtualBox and Xen together can hang the machine (ArchWiki, VirtualBox
# ticket 12146); KVM guests cannot run once Xen boots, because dom0 does not get VT-x/AMD-V.
HYPERVISOR_MODULES = {"kvm": "KVM", "kvm_intel": "KVM (Intel)", "kvm_amd": "KVM (AMD)", "vboxdrv": "VirtualBox",
                      "vmmon": "VMware Workstation", "vmw_vmmon": "VMware Workstation"}


def kernel_log(host: Host) -> list[str] | None:
    """The kernel ring buffer's lines (dmesg), or None when it cannot be read (dmesg_restrict without root)."""
    return host.fact(_kernel_log)


def _kernel_log(host: Host) -> list[str] | None:
    result = host.run(Command.of("dmesg"))
    return result.stdout.splitlines() if result.ok else None


def kernel_compression(config: dict[str, str] | None) -> str | None:
    """How the kernel image is compressed (gzip, zstd, ...) from its build options, or None when unknown."""
    if not config:
        return None
    return next((name.lower() for name in COMPRESSIONS if config.get(f"CONFIG_KERNEL_{name}") == "y"), None)


def parse_modules(text: str) -> list[str]:
    """Module names from /proc/modules ("name size refcount deps state address" lines)."""
    return [line.split()[0] for line in text.splitlines() if line.strip()]


def loaded_modules(host: Host) -> list[str] | None:
    """Names of the loaded kernel modules, or None when /proc/modules is missing."""
    text = host.read_text("/proc/modules")
    return None if text is None else parse_modules(text)


def hypervisor_modules(modules: list[str]) -> dict[str, str]:
    """The loaded modules that belong to another hypervisor, with whose they are."""
    return {m: HYPERVISOR_MODULES[m] for m in modules if m in HYPERVISOR_MODULES}
