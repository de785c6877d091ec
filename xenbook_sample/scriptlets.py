"""The install scriptlets of the sample host's SIMULATED packages, run by its pacman as the real one runs them.

xen.install (saur's xen-aur/xen.install): post_install prints the package's notes, then post_install and
post_upgrade run /usr/share/libalpm/scripts/xen-ucode-extract.sh. That script removes and re-extracts
/boot/xen-efi-intel-ucode.bin and /boot/xen-efi-amd-ucode.bin, each from /boot/intel-ucode.img or
/boot/amd-ucode.img when that image exists (bsdtar -Oxf IMG kernel/x86/microcode/<vendor>.bin); the sample writes
a labelled stand-in instead of the blob. The package's alpm hooks run the same script when an *-ucode package
changes; the sample's repositories hold no such package, so its pacman runs no hooks."""

from __future__ import annotations

from typing import Callable

UCODE = {"intel": "GenuineIntel", "amd": "AuthenticAMD"}  # vendor -> the blob's name inside /boot/<vendor>-ucode.img
EXTRACT_SCRIPT = "/usr/share/libalpm/scripts/xen-ucode-extract.sh"

XEN_NOTES = """\
   Bunch of Xen Notes: https://wiki.archlinux.org/index.php/Xen

   If booting via efi, copy the example /etc/xen/efi-xen.cfg to /boot/xen.cfg
   and edit the contents to match the settings you need.

   To make dom0 go: 

    systemctl enable xen-qemu-dom0-disk-backend.service
    systemctl enable xen-init-dom0.service
    systemctl enable xenconsoled.service

   Optional services are:
    systemctl enable xen-watchdog.service

   To start domains on boot:
    systemctl enable xendomains.service


"""


def extract_ucode(host) -> None:
    """What xen-ucode-extract.sh does: each vendor's Xen EFI microcode file, fresh from its *-ucode.img or gone."""
    for vendor, blob in UCODE.items():
        image, target = f"/boot/{vendor}-ucode.img", f"/boot/xen-efi-{vendor}-ucode.bin"
        if not host.exists(image):
            continue  # the script only looks at a vendor whose image exists
        if host.exists(target):
            host.remove(target)
        host.write_atomic(target, f"SIMULATED microcode: kernel/x86/microcode/{blob}.bin extracted from {image} "
                                  f"by {EXTRACT_SCRIPT} (xenbook's sample host)\n".encode())


def xen_install(host, upgrade: bool) -> str:
    """xen.install's post_install (or post_upgrade): what it prints."""
    # systemd-tmpfiles --create: the sample keeps no /run between its simulated boots, so there is nothing to do
    extract_ucode(host)
    return "" if upgrade else XEN_NOTES


SCRIPTLETS: dict[str, Callable[[object, bool], str]] = {"xen.install": xen_install}


def run_scriptlet(host, name: str, upgrade: bool) -> str:
    """Run the install scriptlet name (a package's install=) after installing or upgrading it; its output."""
    fn = SCRIPTLETS.get(name)
    return fn(host, upgrade) if fn else ""
