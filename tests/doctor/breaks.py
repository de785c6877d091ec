"""Break a sample host in the ways the doctor's catalogue knows: each function writes the broken state (a config, a
log the simulated tools print) into the sample's tree, through the sample's own programs where it has them."""

from __future__ import annotations

import re

from xenbook.core.commands import Command
from xenbook_sample.journal import break_journal, break_xl_dmesg


def grub_cfg_without_xen(host) -> None:
    """grub.cfg as if grub-mkconfig never ran after the boot section: no menu entry loads Xen."""
    text = host.read_text("/boot/grub/grub.cfg")
    host.write_atomic("/boot/grub/grub.cfg", re.sub(r"(?ms)^menuentry [^\n]*[Xx]en.*?^\}\n", "", text).encode())


def grub_default_plain_linux(host) -> None:
    text = host.read_text("/etc/default/grub")
    host.write_atomic("/etc/default/grub", re.sub(r"(?m)^GRUB_DEFAULT=.*$", "GRUB_DEFAULT=0", text).encode())


def xenstored_stopped(host) -> None:
    assert host.run(Command.of("systemctl", "stop", "xenstored.service")).ok


def guest_log(host, name: str, lines: list[str]) -> None:
    host.makedirs("/var/log/xen")
    host.write_atomic(f"/var/log/xen/xl-{name}.log", "".join(line + "\n" for line in lines).encode())


def btrfs_emergency(host) -> None:
    break_journal(host, ["[    3.2] archlinux systemd[1]: Starting Switch Root...",
                         "ERROR: Root device mounted successfully, but /sbin/init does not exist."], offset=-1)


def apic_panic(host) -> None:
    break_xl_dmesg(host, ["(XEN) Panic on CPU 0:", "(XEN) IO-APIC + timer doesn't work!  Boot with "
                          "apic_verbosity=debug and send report.  Then try booting with the `noapic` option"])


def br_netfilter(host) -> None:
    modules = host.read_text("/proc/modules") or ""
    host.write_atomic("/proc/modules", (modules + "br_netfilter 32768 0 - Live 0x0000000000000000\n").encode())
    host.makedirs("/proc/sys/net/bridge")
    host.write_atomic("/proc/sys/net/bridge/bridge-nf-call-iptables", b"1\n")
