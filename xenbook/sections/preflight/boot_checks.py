"""Preflight rows about booting Xen: boot mode, boot loader, space in /boot, and the dom0 kernel."""

from __future__ import annotations

from xenbook.core.actions import Plan
from xenbook.core.host import Host
from xenbook.facts import boot as bootfacts
from xenbook.facts import firmware, kernel, system, xen
from xenbook.sections.preflight.checks import Check, dom0_info, kernel_config, xen_state

ZSTD_SINCE = (4, 15)  # Xen learnt to boot zstd-compressed kernels in 4.15 (commits d6627cf1b6, 8169f82049)
XEN_IMAGE = "/boot/xen.gz"


class BootMode(Check):
    name = "BootMode"

    def check(self, host: Host) -> Plan:
        mode = bootfacts.boot_mode(host)
        secure = firmware.secure_boot(host) if mode == "uefi" else None
        facts = {"mode": mode, "secure_boot": secure}
        if mode == "bios":
            return self.row("ok", "bios", "BIOS boot: GRUB 2 starts Xen with multiboot2", boot_mode=facts)
        if secure:
            return self.row("warning", "uefi, Secure Boot on", "an unsigned xen.efi (or GRUB's Xen entry) does not "
                            "start while Secure Boot is on", "turn Secure Boot off in the firmware setup, or sign "
                            "xen.efi with your own keys", boot_mode=facts)
        state = "off" if secure is False else "unknown"
        return self.row("ok", f"uefi, Secure Boot {state}", "UEFI boot: xen.efi with xen.cfg (directly or from "
                        "systemd-boot), or GRUB 2 with multiboot2", boot_mode=facts)


class BootLoader(Check):
    name = "BootLoader"
    SUPPORTED = {"grub2": "GRUB 2 boots Xen with multiboot2/module2",
                 "systemd-boot": "systemd-boot starts xen.efi, which reads xen.cfg next to it"}

    def check(self, host: Host) -> Plan:
        found, loader = bootfacts.boot_loaders(host), bootfacts.boot_loader(host)
        facts = {"in_use": loader, "found": found}
        if loader in self.SUPPORTED:
            return self.row("ok", loader, self.SUPPORTED[loader], boot_loader=facts)
        if loader is None:
            return self.row("blocking", "none found", "no GRUB 2, systemd-boot, GRUB legacy or Syslinux files: the "
                            "boot section cannot add a Xen entry", "install GRUB 2 (pacman -S grub; grub-install; "
                            "grub-mkconfig -o /boot/grub/grub.cfg) or systemd-boot (bootctl install)",
                            boot_loader=facts)
        return self.row("warning", loader, f"{loader} is no longer maintained on Arch; it can start Xen only with "
                        "multiboot (v1) entries written by hand", "move to GRUB 2 (pacman -S grub; grub-install; "
                        "grub-mkconfig -o /boot/grub/grub.cfg)", boot_loader=facts)


class BootSpace(Check):
    name = "BootSpace"

    def check(self, host: Host) -> Plan:
        found = host.fact(bootfacts.mounts)
        holder = "/boot" if "/boot" in found else "/"
        space = system.free_space(host, "/boot")
        esp = bootfacts.esp_path(host)
        facts = {"mount": holder, "fstype": found[holder].fstype if holder in found else None, "esp": esp,
                 "avail": space.avail if space else None, "size": space.size if space else None}
        if space is None:
            return self.row("warning", "unknown", "df cannot tell the free space in /boot",
                            "check that /boot exists and is mounted (findmnt /boot), then plan again", boot_space=facts)
        value = f"{space.fstype}, {space.avail_mib} MiB free of {space.size_mib} MiB"
        if space.avail_mib < self.params.min_boot_free_mib:
            return self.row("blocking", value, f"less than {self.params.min_boot_free_mib} MiB free "
                            "(min_boot_free_mib): xen.gz, xen.efi and the microcode images do not fit",
                            "remove unused kernels and fallback images from /boot, or enlarge the partition",
                            boot_space=facts)
        if bootfacts.boot_mode(host) == "uefi" and esp not in (None, "/boot"):
            return self.row("warning", value + f", ESP at {esp}", f"the ESP is at {esp}, but the AUR xen package "
                            "puts xen.efi in /boot", f"build xen with efi_dir={esp} efi_mountpoint={esp}, or mount "
                            "the ESP at /boot", boot_space=facts)
        where = f"/boot on its own {space.fstype} filesystem" if holder == "/boot" else "/boot on the root filesystem"
        return self.row("ok", value, f"{where}, {space.avail_mib} MiB free", boot_space=facts)


class KernelDom0(Check):
    name = "KernelDom0"

    def check(self, host: Host) -> Plan:
        config = kernel_config(host)
        capable = bootfacts.dom0_capable(config)
        facts = {"config_found": config is not None, "dom0_capable": capable}
        if xen_state(host).dom0:
            return self.row("ok", "running as dom0", "the running kernel is dom0 already", kernel=facts)
        if capable:
            return self.row("ok", "CONFIG_XEN_DOM0=y", "the running kernel can be dom0", kernel=facts)
        if capable is False:
            return self.row("blocking", "no CONFIG_XEN_DOM0", "the running kernel was built without dom0 support",
                            "boot Arch's stock linux or linux-lts kernel, which can be dom0", kernel=facts)
        return self.row("warning", "unknown", "/proc/config.gz is missing (CONFIG_IKCONFIG_PROC), so dom0 support "
                        "cannot be checked", "boot Arch's stock linux or linux-lts kernel", kernel=facts)


class KernelCompression(Check):
    name = "KernelCompression"

    def check(self, host: Host) -> Plan:
        comp = kernel.kernel_compression(kernel_config(host))
        version = xen.xen_package_version(host)
        info = dom0_info(host)
        if version is None and info is not None:
            version = info.xen_version
        image = host.exists(XEN_IMAGE)
        facts = {"compression": comp, "xen_version": version, "xen_image": image}
        if comp is None:
            return self.row("warning", "unknown", "the kernel's build options do not say how it is compressed",
                            "boot Arch's stock linux kernel (zstd-compressed, which Xen 4.15 and later boots)",
                            kernel_compression=facts)
        if comp != "zstd":
            return self.row("ok", comp, f"every Xen can boot a {comp} kernel", kernel_compression=facts)
        remedy = "install Xen 4.15 or later: the AUR package xen (4.21)"
        if version and xen.version_tuple(version) and xen.version_tuple(version) < ZSTD_SINCE:
            return self.row("blocking", f"zstd, Xen {version}", f"Xen {version} cannot boot a zstd-compressed kernel "
                            "(Xen boots them since 4.15)", remedy, kernel_compression=facts)
        if version:
            return self.row("ok", f"zstd, Xen {version}", f"Xen {version} boots zstd-compressed kernels",
                            kernel_compression=facts)
        if image:
            return self.row("warning", "zstd, Xen version unknown", f"{XEN_IMAGE} is there but no xen package says "
                            "its version; Xen before 4.15 cannot boot this zstd-compressed kernel", remedy,
                            kernel_compression=facts)
        return self.row("ok", "zstd, Xen not installed", "Xen 4.15 or later is needed; the AUR package (4.21) is",
                        kernel_compression=facts)
