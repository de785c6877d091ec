"""Break a sample host in the ways the doctor's catalogue knows: each function writes the broken state (a config, a
log the simulated tools print) into the sample's tree, through the sample's own programs where it has them."""

from __future__ import annotations

import os
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


def xenfs_unmounted(host) -> None:
    """Xen runs, but /proc/xen is empty (proc-xen.mount did not run)."""
    for path in ("/proc/xen/capabilities", "/proc/xen/privcmd"):
        host.remove(path)


def catch_all_network(host) -> None:
    """The Arch ISO's 20-ethernet.network copied over, with xenbook's vif file gone."""
    host.remove("/etc/systemd/network/00-xenbook-guest-interfaces.network")
    host.write_atomic("/etc/systemd/network/20-ethernet.network", b"[Match]\nType=ether\n\n[Network]\nDHCP=yes\n")


def networkd_on_vif(host) -> None:
    break_journal(host, ["[  812.4] xen1 systemd-networkd[402]: vif3.0: Link UP",
                         "[  812.5] xen1 systemd-networkd[402]: vif3.0: Gained carrier"])


def xendomains_saving(host) -> None:
    """xendomains with its default XENDOMAINS_SAVE and two saved images."""
    text = host.read_text("/etc/conf.d/xendomains") or ""
    text = re.sub(r'(?m)^XENDOMAINS_SAVE=.*$', "XENDOMAINS_SAVE=/var/lib/xen/save", text)
    host.write_atomic("/etc/conf.d/xendomains", text.encode())
    host.makedirs("/var/lib/xen/save")
    for name in ("dom01", "dom02"):
        host.write_atomic(f"/var/lib/xen/save/{name}", b"SIMULATED saved image\n")


def xend_udev_rule(host) -> None:
    break_journal(host, ["[    4.1] xen1 (udev-worker)[312]: vif1.0: Process '/usr/lib/udev/socket:/org/xen/xend/"
                         "udev_event' failed with exit code 2."])


def missing_modules(host) -> None:
    break_journal(host, ["ERROR: device 'UUID=0a1b' not found. Skipping fsck.",
                         "You are now being dropped into an emergency shell."], offset=-1)


def hotplug_failed(host) -> None:
    guest_log(host, "dom01", ["libxl: error: libxl_exec.c:117:libxl_report_child_exitstatus: /etc/xen/scripts/block "
                              "add [2210] exited with error status 1"])


# a UEFI sample host (uefi-systemd-boot)

def _efivar(host, name: str, data: bytes) -> None:
    host.makedirs("/sys/firmware/efi/efivars")
    host.write_atomic(f"/sys/firmware/efi/efivars/{name}", data)


def secure_boot_on(host) -> None:
    _efivar(host, "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", b"\x06\x00\x00\x00\x01")


def loader_default_efivar(host, entry: str = "arch.conf") -> None:
    """What `bootctl set-default arch.conf` leaves: LoaderEntryDefault, UTF-16LE after 4 attribute bytes."""
    _efivar(host, "LoaderEntryDefault-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f",
            b"\x07\x00\x00\x00" + (entry + "\0").encode("utf-16-le"))


def xen_cfg_missing(host) -> None:
    host.remove("/boot/xen.cfg")


def xen_cfg_not_ascii(host) -> None:
    text = host.read_text("/boot/xen.cfg")
    host.write_atomic("/boot/xen.cfg", text.replace("options=", "options=loglvl=all \u2013 ", 1).encode())


def qemu_removed(host) -> None:
    """xen-qemu's device model gone: xen-qemu-dom0-disk-backend.service fails (its ExecStart is missing)."""
    host.remove("/usr/lib/xen/bin/qemu-system-i386")


def xen_nvram_entry_not_first(host) -> None:
    """A firmware entry for xen.efi made with efibootmgr --create-only (not first in BootOrder), and no systemd-boot
    entry for Xen."""
    assert host.run(Command.of("efibootmgr", "--create-only", "--disk", "/dev/nvme0n1", "--part", "1", "--label",
                               "Arch Linux with Xen (xenbook)", "--loader", "\\xen.efi")).ok
    host.remove("/boot/loader/entries/xenbook-xen.conf")


def bridge_without_dhcp(host) -> None:
    """The bridge's own .network file (its DHCP) gone, then a reboot: xenbr0 comes up without an address."""
    from xenbook_sample.boot import reboot
    host.remove("/etc/systemd/network/00-xenbook-xenbr0.network")
    assert reboot(host)["xen"]


def xen_cfg_kernel_missing(host) -> None:
    """xen.cfg's kernel= names a file not beside xen.efi (the e2e tier's xen-cfg-missing-kernel)."""
    text = host.read_text("/boot/xen.cfg")
    broken = re.sub(r"(?m)^kernel=\S+", "kernel=vmlinuz-missing", text)
    assert broken != text
    host.write_atomic("/boot/xen.cfg", broken.encode())


def xen_cfg_section_renamed(host) -> None:
    """[global] default= names no section (the e2e tier's xen-cfg-missing-section)."""
    text = host.read_text("/boot/xen.cfg")
    assert "[xenbook]" in text
    host.write_atomic("/boot/xen.cfg", text.replace("[xenbook]", "[xen-renamed]").encode())


def old_xen_package(host, version: str = "4.14.6-1") -> None:
    """pacman's local database as if Xen VERSION were installed (the sample's pacman -Q reads it)."""
    local = "/var/lib/pacman/local"
    (current,) = [name for name in host.listdir(local) if re.fullmatch(r"xen-\d[^-]*-\d+", name)]
    os.rename(f"{host.root}{local}/{current}", f"{host.root}{local}/xen-{version}")  # as pacman names its entry
    desc = f"{local}/xen-{version}/desc"
    text = host.read_text(desc)
    host.write_atomic(desc, re.sub(r"(?m)^(%VERSION%\n).*$", rf"\g<1>{version}", text).encode())
