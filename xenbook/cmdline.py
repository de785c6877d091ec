"""The Xen hypervisor command line, built in one place from the boot parameters."""

from __future__ import annotations

from .params import BootParams


def xen_command_line(p: BootParams, *, microcode: bool = False) -> str:
    """Xen's options for dom0: memory, vCPUs, console, logging, then the extra options."""
    words = [f"dom0_mem={p.dom0_mem},max:{p.dom0_mem}"]
    if p.dom0_max_vcpus:
        words.append(f"dom0_max_vcpus={p.dom0_max_vcpus}")
    if p.dom0_vcpus_pin:
        words.append("dom0_vcpus_pin")
    words.append(f"console={p.console}")
    if p.com1:
        words.append(f"com1={p.com1}")
    if p.loglvl:
        words.append(f"loglvl={p.loglvl}")
    if p.guest_loglvl:
        words.append(f"guest_loglvl={p.guest_loglvl}")
    if microcode and not any(o.split("=", 1)[0] == "ucode" for o in p.xen_options):
        words.append("ucode=scan")
    words += p.xen_options
    return " ".join(words)
