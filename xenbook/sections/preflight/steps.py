"""The preflight section: read-only readiness checks, one row each, with a verdict ok, warning or blocking.

The rows about booting (boot mode, loader, /boot, the dom0 kernel) are in preflight_boot."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from xenbook.core.actions import Plan
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.facts import cpu as cpufacts
from xenbook.facts import firmware, kernel, system
from xenbook.sections.preflight.boot_checks import BootLoader, BootMode, BootSpace, KernelCompression, KernelDom0
from xenbook.sections.preflight.checks import Check, cpu_info, dom0_info, xen_state

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

MEMORY_FLOOR_MIB = 1024  # below this dom0 and a guest cannot both run: blocking
PROC_REMEDY = "check the target: is /proc mounted?"


class CpuVirtualization(Check):
    """The processors offer VT-x or AMD-V (needed for HVM and PVH guests; PV guests run without)."""

    name = "CpuVirtualization"

    def check(self, host: Host) -> Plan:
        cpu = cpu_info(host)
        if cpu is None:
            return self.row("warning", "unknown", "/proc/cpuinfo is missing", PROC_REMEDY)
        missing = "blocking" if self.params.hvm_guests else "warning"
        needs = ("HVM and PVH guests need it" if self.params.hvm_guests
                 else "PV guests still work; HVM and PVH guests need it")
        facts = {"vendor": cpu.vendor, "vendor_id": cpu.vendor_id, "model_name": cpu.model_name, "count": cpu.count}
        if xen_state(host).dom0:
            info = dom0_info(host)
            if info is None:
                return self.row("warning", "unknown", "running as dom0, but `xl info` failed",
                                "run as root, and start xenstored", cpu=facts)
            facts["virt_caps"] = list(info.virt_caps)
            if "hvm" in info.virt_caps:
                return self.row("ok", "hvm (Xen)", f"Xen reports hvm in virt_caps: {' '.join(info.virt_caps)}",
                                cpu=facts)
            return self.row(missing, "missing (Xen: no hvm)", f"Xen's virt_caps lack hvm; {needs}",
                            cpufacts.firmware_remedy(cpu.vendor), cpu=facts)
        v = cpufacts.virtualization(host, cpu)
        facts.update(asdict(v), firmware_disabled=v.firmware_disabled)
        if v.flag:
            return self.row("ok", f"{v.name} ({v.flag})", f"{cpu.model_name}: the {v.flag} flag is present", cpu=facts)
        if v.in_vm:
            return self.row(missing, "missing (virtual machine)",
                            f"this is a virtual machine whose hypervisor does not pass {v.name} through; {needs}",
                            "enable nested virtualisation for this VM in the outer hypervisor", cpu=facts)
        if v.firmware_evidence:
            why = f"the firmware disabled it; the kernel log says: {v.firmware_evidence[0]!r}"
            value = f"missing: {v.name} disabled by BIOS"
        elif v.model_probably_capable:
            why = f"{cpu.model_name} normally has it, so the firmware has probably disabled it"
            value = f"missing: {v.name} probably disabled in firmware"
        else:
            why = "the processor may not have it" + ("" if v.log_readable else
                                                      " (the kernel log could not be read: dmesg needs root)")
            value = f"missing: no {v.name}"
        return self.row(missing, value, f"no vmx/svm flag in /proc/cpuinfo: {why}; {needs}",
                        cpufacts.firmware_remedy(cpu.vendor), cpu=facts)


class Processors(Check):
    name = "Processors"

    def check(self, host: Host) -> Plan:
        info, cpu = dom0_info(host), cpu_info(host)
        count = info.nr_cpus if info and info.nr_cpus else cpu.count if cpu else None
        if not count:
            return self.row("warning", "unknown", "/proc/cpuinfo lists no processor", PROC_REMEDY, processors=None)
        facts = {"count": count, "source": "xl info" if info and info.nr_cpus else "/proc/cpuinfo"}
        value = f"{count}" + (f" × {cpu.model_name}" if cpu and cpu.model_name else "")
        if count < 2:
            return self.row("warning", value, "one logical CPU: dom0 and every guest share it",
                            "use a machine with two or more CPUs for anything but a test", processors=facts)
        return self.row("ok", value, f"{count} logical CPUs", processors=facts)


class Memory(Check):
    name = "Memory"

    def check(self, host: Host) -> Plan:
        info = dom0_info(host)
        mib = info.total_memory_mib if info and info.total_memory_mib else system.memory_mib(host)
        if mib is None:
            return self.row("warning", "unknown", "/proc/meminfo is missing", PROC_REMEDY, memory=None)
        facts = {"total_mib": mib, "source": "xl info" if info and info.total_memory_mib else "/proc/meminfo"}
        if mib < MEMORY_FLOOR_MIB:
            return self.row("blocking", f"{mib} MiB", f"less than {MEMORY_FLOOR_MIB} MiB: too little for dom0 and a "
                            "guest", "add memory", memory=facts)
        if mib < self.params.min_memory_mib:
            return self.row("warning", f"{mib} MiB", f"less than {self.params.min_memory_mib} MiB (min_memory_mib): "
                            "little left for guests after dom0's share", "add memory, or give dom0 less (dom0_mem)",
                            memory=facts)
        return self.row("ok", f"{mib} MiB", f"{mib} MiB total", memory=facts)


class Iommu(Check):
    """The firmware enables an IOMMU (VT-d / AMD-Vi): needed for PCI passthrough and for a PVH dom0."""

    name = "Iommu"

    def check(self, host: Host) -> Plan:
        remedy = "enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup"
        info = dom0_info(host)
        if info is not None:
            caps = [c for c in info.virt_caps if c.endswith("_directio")]
            facts = {"xen_directio": caps}
            if caps:
                return self.row("ok", f"on (Xen: {' '.join(caps)})", "Xen uses the IOMMU for passthrough", iommu=facts)
            return self.row("warning", "off (Xen)", "Xen reports no *_directio in virt_caps: no PCI passthrough",
                            remedy, iommu=facts)
        found = firmware.iommu(host)
        facts = {"table": found.table, "name": found.name, "units": found.units}
        if found.table is None:
            return self.row("warning", "none", "no DMAR or IVRS ACPI table: the firmware offers no IOMMU, so no PCI "
                            "passthrough and no PVH dom0 (PV and HVM guests still work)", remedy, iommu=facts)
        linux = (f"Linux uses it ({', '.join(found.units)})" if found.units
                 else "Linux has not enabled it; Xen turns it on itself at boot")
        return self.row("ok", f"{found.name} ({found.table})", f"the firmware describes {found.name}; {linux}",
                        iommu=facts)


class RunningUnderXen(Check):
    name = "RunningUnderXen"

    def check(self, host: Host) -> Plan:
        state, cpu = xen_state(host), cpu_info(host)
        facts = {"on_xen": state.on_xen, "dom0": state.dom0, "role": state.role, "xl_info": None}
        if state.dom0:
            info = dom0_info(host)
            facts["xl_info"] = asdict(info) if info else None
            version = f"Xen {info.xen_version}" if info else "Xen (xl info failed: run as root)"
            return self.row("ok", f"dom0 of {version}", "this is dom0: Xen is running", xen=facts)
        if state.on_xen:
            return self.row("blocking", "Xen guest (domU)", "this machine is a Xen guest, not the physical host",
                            "run the runbook on the physical machine (dom0), not inside a guest", xen=facts)
        if cpu is not None and cpu.in_vm:
            return self.row("warning", "virtual machine", "Linux runs in a virtual machine (the cpuinfo hypervisor "
                            "flag): Xen inside it needs nested virtualisation",
                            "use bare metal, or enable nested virtualisation in the outer hypervisor", xen=facts)
        return self.row("ok", "bare metal, Xen not running", "no Xen yet: it starts after the boot section and a "
                        "reboot", xen=facts)


class Distribution(Check):
    name = "Distribution"

    def check(self, host: Host) -> Plan:
        release = system.os_release(host)
        if release is None:
            return self.row("warning", "unknown", "no /etc/os-release: cannot tell the distribution",
                            "check that the target runs Arch Linux: the runbook is written for it", distribution=None)
        name = release.get("PRETTY_NAME") or release.get("NAME") or release.get("ID", "unknown")
        facts = {"id": release.get("ID", ""), "id_like": release.get("ID_LIKE", ""), "name": name}
        if facts["id"] == "arch":
            return self.row("ok", name, "Arch Linux, as the runbook expects", distribution=facts)
        if "arch" in facts["id_like"].split():
            return self.row("warning", name, f"{name} is derived from Arch, not Arch: its packages and defaults may "
                            "differ from what the runbook expects", "check each plan before applying it",
                            distribution=facts)
        return self.row("warning", name, f"this is {name}, not Arch Linux: the runbook uses pacman, the AUR and "
                        "Arch's paths", "use Arch Linux, or your distribution's own Xen packages and guide",
                        distribution=facts)


class OtherHypervisors(Check):
    name = "OtherHypervisors"

    def check(self, host: Host) -> Plan:
        modules = kernel.loaded_modules(host)
        if modules is None:
            return self.row("warning", "unknown", "/proc/modules is missing",
                            "check with lsmod that no KVM, VirtualBox or VMware modules are loaded before booting Xen",
                            hypervisor_modules=None)
        found = kernel.hypervisor_modules(modules)
        if not found:
            return self.row("ok", "none", "no KVM, VirtualBox or VMware modules loaded", hypervisor_modules=found)
        value = ", ".join(found)
        others = sorted({v for m, v in found.items() if not m.startswith("kvm")})
        if others:
            reason = f"{' and '.join(others)} loaded: running another hypervisor next to Xen can hang the machine"
        else:
            reason = "KVM loaded: its guests cannot run once Xen boots (dom0 gets no VT-x/AMD-V)"
        return self.row("warning", value, reason, "stop their guests, then unload the modules (modprobe -r "
                        f"{' '.join(found)}) or blacklist them in /etc/modprobe.d/ before booting Xen",
                        hypervisor_modules=found)


CHECKS = (CpuVirtualization, Processors, Memory, Iommu, RunningUnderXen, BootMode, BootLoader, BootSpace, KernelDom0,
          KernelCompression, Distribution, OtherHypervisors)


def preflight_steps(params: RunbookParams, host: Host | None = None) -> list[Step]:
    """One readiness check per row; the same rows for every host."""
    return [check(params.preflight) for check in CHECKS]
