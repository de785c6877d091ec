"""The boot loader files a sample profile starts with, for loaders other than GRUB 2 (which grub.py renders)."""

from __future__ import annotations

from xenbook_sample.profiles import Profile

SIMULATED = "SIMULATED {}, written by xenbook's sample host; not a real one.\n"


def _root_and_boot(profile: Profile):
    parts = {p.mount: (d, p) for d in profile.disks for p in d.partitions if p.mount}
    return parts["/"][1], parts.get("/boot", parts["/"])


def grub_legacy_files(profile: Profile) -> list[tuple[str, bytes, int]]:
    """/boot/grub/menu.lst as GRUB legacy's Arch package left it, with the stock Arch entries."""
    root, (disk, boot) = _root_and_boot(profile)
    drive = f"(hd{[d.name for d in profile.disks].index(disk.name)},{boot.number - 1})"
    prefix = "" if boot.mount == "/boot" else "/boot"
    pkg = profile.kernel_pkgbase
    menu = f"""# Config file for GRUB - The GNU GRand Unified Bootloader
# /boot/grub/menu.lst

# DEVICE NAME CONVERSIONS
#
#  Linux           Grub
# -------------------------
#  /dev/fd0        (fd0)
#  /dev/sda        (hd0)
#  /dev/sdb2       (hd1,1)
#  /dev/sda3       (hd0,2)
#

# general configuration:
timeout   5
default   0
color light-blue/black light-cyan/blue

# boot sections follow
# each is implicitly numbered from 0 in the order of appearance below
#
# TIP: If you want a 1024x768 framebuffer, add "vga=773" to your kernel line.
#
#-*

# (0) Arch Linux
title  Arch Linux
root   {drive}
kernel {prefix}/vmlinuz-{pkg} root=UUID={root.uuid} rw
initrd {prefix}/initramfs-{pkg}.img

# (1) Arch Linux
title  Arch Linux Fallback
root   {drive}
kernel {prefix}/vmlinuz-{pkg} root=UUID={root.uuid} rw
initrd {prefix}/initramfs-{pkg}-fallback.img
"""
    if profile.virt != "none":  # a guest: a plain menu.lst, root named by its Xen disk
        menu = _guest_menu(drive, prefix, pkg, disk.name)
    return [("/boot/grub/menu.lst", menu.encode(), 0o644),
            ("/boot/grub/stage1", SIMULATED.format("GRUB legacy stage1").encode(), 0o644),
            ("/boot/grub/stage2", SIMULATED.format("GRUB legacy stage2").encode(), 0o644)]


def _guest_menu(drive: str, prefix: str, pkg: str, disk: str) -> str:
    return (f"timeout 5\ndefault 0\n\n# (0) Arch Linux\ntitle  Arch Linux\nroot   {drive}\n"
            f"kernel {prefix}/vmlinuz-{pkg} root=/dev/{disk}1 ro\ninitrd {prefix}/initramfs-{pkg}.img\n")


def systemd_boot_files(profile: Profile) -> list[tuple[str, bytes, int]]:
    """An ESP at /boot with systemd-boot installed by bootctl and the stock Arch loader entries."""
    root, _ = _root_and_boot(profile)
    pkg = profile.kernel_pkgbase
    ucode = [f"initrd  /{n}\n" for n in ("intel-ucode.img", "amd-ucode.img")
             if n.split(".")[0] in {p[0] for p in profile.packages}]

    def entry(title: str, initrd: str) -> bytes:
        return (f"title   {title}\nlinux   /vmlinuz-{pkg}\n{''.join(ucode)}initrd  /{initrd}\n"
                f"options root=UUID={root.uuid} rw loglevel=3 quiet\n").encode()

    efi = SIMULATED.format("systemd-boot EFI binary").encode()
    return [("/boot/loader/loader.conf", b"default arch.conf\ntimeout 3\nconsole-mode max\neditor no\n", 0o755),
            ("/boot/loader/entries/arch.conf", entry("Arch Linux", f"initramfs-{pkg}.img"), 0o755),
            ("/boot/loader/entries/arch-fallback.conf",
             entry("Arch Linux (fallback initramfs)", f"initramfs-{pkg}-fallback.img"), 0o755),
            ("/boot/loader/random-seed", b"\0" * 32, 0o755),
            ("/boot/EFI/systemd/systemd-bootx64.efi", efi, 0o755),
            ("/boot/EFI/BOOT/BOOTX64.EFI", efi, 0o755)]


LOADER_FILES = {"grub-legacy": grub_legacy_files, "systemd-boot": systemd_boot_files}
