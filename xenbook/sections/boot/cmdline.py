"""The Xen hypervisor command line, and the words xenbook adds to dom0's, built in one place from the boot
parameters."""

from __future__ import annotations

from xenbook.sections.boot.params import BootParams

HVC0 = "console=hvc0"


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


def serial_console(p: BootParams) -> bool:
    """True when Xen's console list holds a serial port (com1 or com2, with or without H/L)."""
    return any(item.startswith(("com1", "com2")) for item in p.console.split(","))


def with_hvc0(args: str) -> str:
    """Kernel options with console=hvc0 once and last (the last console= becomes /dev/console)."""
    return " ".join([w for w in args.split() if w != HVC0] + [HVC0])


def names_subvolume(args: str) -> bool:
    """True when a rootflags= word of the kernel options already picks a btrfs subvolume (subvol= or subvolid=)."""
    return any(flag.startswith(("subvol=", "subvolid="))
               for w in args.split() if w.startswith("rootflags=")
               for flag in w.removeprefix("rootflags=").split(","))


def with_root_flags(args: str, root_flags: str) -> str:
    """root_flags (rootflags=subvol=...) before the kernel options, as GRUB's 10_linux and 20_linux_xen put it before
    GRUB_CMDLINE_LINUX; args as they are when root_flags is empty or args already name a subvolume."""
    if not root_flags or names_subvolume(args):
        return args
    return f"{root_flags} {args}".strip()
