"""The files the sample host's SIMULATED Xen packages install: stand-ins for binaries, real-format text for configs.

xl.conf is Xen's own default file. The unit files, xencommons and xendomains follow Xen's but are shortened
(each says so in a comment); binaries and scripts are one-line stand-ins labelled SIMULATED."""

from __future__ import annotations

from importlib import resources

SYSTEMD = "/usr/lib/systemd/system"
SHORTENED = "# Shortened by xenbook's SIMULATED sample host from the file the xen package installs.\n"


def stand_in(what: str, package: str) -> str:
    return f"SIMULATED {what}, installed by xenbook's sample host (package {package}); not a real one.\n"


def script(what: str, package: str) -> str:
    return f"#!/bin/sh\n# {stand_in(what, package)}exit 0\n"


XENCOMMONS = SHORTENED + """\
## Type: string
## Default: daemon
#
# Select type of xenstore service: daemon or domain.
#XENSTORETYPE=daemon

## Type: string
## Default: /usr/bin/xenstored
#
# Select the xenstore implementation.
#XENSTORED=/usr/bin/xenstored

## Type: string
## Default: ""
#
# Additional commandline arguments to start xenstored,
# like "--trace-file /var/log/xen/xenstored-trace.log"
XENSTORED_ARGS=

## Type: string
## Default: none
#
# Log xenconsoled messages: none, guest, hv or all
#XENCONSOLED_TRACE=none

## Type: string
## Default: "30 15"
#
# Timeout and sleep interval of the xen-watchdog daemon
#XENWATCHDOGD_ARGS="30 15"
"""

XENDOMAINS = SHORTENED + """\
## Type: string
## Default: ""
# Send this SysRq to each domain before shutting it down
XENDOMAINS_SYSRQ=""

## Type: integer
## Default: 100000
XENDOMAINS_USLEEP=100000

## Type: integer
## Default: 5000000
XENDOMAINS_CREATE_USLEEP=5000000

## Type: string
## Default: ""
# Migrate domains to this host on shutdown instead of saving them
XENDOMAINS_MIGRATE=""

## Type: string
## Default: /var/lib/xen/save
XENDOMAINS_SAVE=/var/lib/xen/save

## Type: string
## Default: "--wait"
XENDOMAINS_SHUTDOWN="--wait"

## Type: string
## Default: "--all --wait"
XENDOMAINS_SHUTDOWN_ALL="--all --wait"

## Type: boolean
## Default: true
XENDOMAINS_RESTORE=true

## Type: string
## Default: /etc/xen/auto
# Domains whose configuration is in this folder start at boot
XENDOMAINS_AUTO=/etc/xen/auto

## Type: boolean
## Default: false
XENDOMAINS_AUTO_ONLY=false

## Type: integer
## Default: 300
XENDOMAINS_STOP_MAXWAIT=300
"""

MODULES_LOAD = """\
xen-evtchn
xen-gntdev
xen-gntalloc
xen-blkback
xen-netback
xen-pciback
# xen-acpi-processor may not work on all machines
xen-acpi-processor
"""

EFI_XEN_CFG = """\
[global]
default=xen

[xen]
options=console=vga dom0_mem=1024M,max:1024M dom0_max_vcpus=4 loglvl=all noreboot
kernel=vmlinuz-linux root=<Root Device> rw
ramdisk=initramfs-linux.img
#ucode=<extracted microcode file>
"""

_CHECK = "ExecStartPre=/bin/grep -q control_d /proc/xen/capabilities\n"
_XEN = "ConditionPathExists=/proc/xen/capabilities\n"
UNITS = {
    "proc-xen.mount": "[Unit]\nDescription=Mount /proc/xen files\nConditionPathExists=/proc/xen\n"
                      "ConditionPathIsMountPoint=!/proc/xen\nRefuseManualStop=true\n\n"
                      "[Mount]\nWhat=xenfs\nWhere=/proc/xen\nType=xenfs\n",
    "xenstored.service": "[Unit]\nDescription=The Xen xenstore\nRequires=proc-xen.mount\nAfter=proc-xen.mount\n"
                         f"Before=libvirtd.service libvirt-guests.service\nRefuseManualStop=true\n{_XEN}\n"
                         "[Service]\nType=notify\nNotifyAccess=all\nEnvironmentFile=-/etc/conf.d/xencommons\n"
                         f"{_CHECK}ExecStart=/etc/xen/scripts/launch-xenstore\n\n"
                         "[Install]\nWantedBy=multi-user.target\n",
    "xenconsoled.service": "[Unit]\nDescription=Xenconsoled - handles logging from guest consoles and hypervisor\n"
                           f"Requires=proc-xen.mount xenstored.service\nAfter=proc-xen.mount xenstored.service\n{_XEN}\n"
                           "[Service]\nType=simple\nEnvironment=XENCONSOLED_ARGS=\nEnvironment=XENCONSOLED_TRACE=none\n"
                           "Environment=XENCONSOLED_LOG_DIR=/var/log/xen/console\n"
                           f"EnvironmentFile=-/etc/conf.d/xencommons\n{_CHECK}"
                           "ExecStart=/usr/bin/xenconsoled -i --log=${XENCONSOLED_TRACE} "
                           "--log-dir=${XENCONSOLED_LOG_DIR} $XENCONSOLED_ARGS\n\n"
                           "[Install]\nWantedBy=multi-user.target\n",
    "xen-init-dom0.service": "[Unit]\nDescription=xen-init-dom0, initialise Dom0 configuration (xenstore nodes, "
                             "JSON configuration stub)\nRequires=xenstored.service proc-xen.mount\n"
                             f"After=xenstored.service proc-xen.mount\n{_XEN}\n"
                             f"[Service]\nType=oneshot\nRemainAfterExit=true\n{_CHECK}"
                             "ExecStart=/usr/lib/xen/bin/xen-init-dom0\n\n[Install]\nWantedBy=multi-user.target\n",
    "xen-qemu-dom0-disk-backend.service":
        "[Unit]\nDescription=qemu for xen dom0 disk backend\nRequires=proc-xen.mount xenstored.service\n"
        "After=proc-xen.mount xenstored.service xenconsoled.service\n"
        f"Before=xendomains.service libvirtd.service libvirt-guests.service\nRefuseManualStop=true\n{_XEN}\n"
        f"[Service]\nType=simple\nPIDFile=/run/xen/qemu-dom0.pid\n{_CHECK}ExecStartPre=/bin/mkdir -p /run/xen\n"
        "ExecStart=/usr/lib/xen/bin/qemu-system-i386 -xen-domid 0 -xen-attach -name dom0 -nographic -M xenpv "
        "-daemonize -monitor /dev/null -serial /dev/null -parallel /dev/null -nodefaults -no-user-config "
        "-pidfile /run/xen/qemu-dom0.pid\n\n[Install]\nWantedBy=multi-user.target\n",
    "xendomains.service": "[Unit]\nDescription=Xendomains - start and stop guests on boot and shutdown\n"
                          "Requires=proc-xen.mount xenstored.service\n"
                          "After=proc-xen.mount xenstored.service xenconsoled.service xen-init-dom0.service\n"
                          f"After=network-online.target\nAfter=remote-fs.target\n{_XEN}Conflicts=libvirtd.service\n\n"
                          f"[Service]\nType=oneshot\nRemainAfterExit=true\n{_CHECK}"
                          "ExecStart=-/usr/lib/xen/bin/xendomains start\nExecStop=/usr/lib/xen/bin/xendomains stop\n"
                          "ExecReload=/usr/lib/xen/bin/xendomains restart\n\n[Install]\nWantedBy=multi-user.target\n",
    "xen-watchdog.service": "[Unit]\nDescription=Xen-watchdog - run xen watchdog daemon\nRequires=proc-xen.mount\n"
                            f"After=proc-xen.mount xendomains.service\n{_XEN}\n"
                            '[Service]\nType=forking\nEnvironment="XENWATCHDOGD_ARGS=30 15"\n'
                            "EnvironmentFile=-/etc/conf.d/xencommons\nExecStart=/usr/bin/xenwatchdogd "
                            "$XENWATCHDOGD_ARGS\nKillSignal=USR1\n\n[Install]\nWantedBy=multi-user.target\n",
}


def _ucode_hook(vendor: str, name: str) -> str:
    """saur's xen-<vendor>-ucode.hook: re-extract the Xen EFI microcode whenever the vendor's image changes."""
    return ("[Trigger]\nType = Path\nOperation = Install\nOperation = Upgrade\nOperation = Remove\n"
            f"Target = boot/{vendor}-ucode.img\n\n[Action]\nDescription = Extracting {name} microcode for Xen EFI...\n"
            "When = PostTransaction\nExec = /usr/share/libalpm/scripts/xen-ucode-extract.sh\n")


def _xl_conf() -> str:
    return resources.files(__package__).joinpath("files", "xl.conf").read_text()


def xen_files(uefi: bool) -> dict[str, tuple[int, str]]:
    p = "xen"
    files = {
        "/boot/xen.gz": (0o644, stand_in("Xen hypervisor image (multiboot2)", p)),
        "/boot/xen.efi": (0o644, stand_in("Xen EFI application", p)),
        "/usr/bin/xl": (0o755, script("xl, the Xen toolstack", p)),
        "/usr/bin/xenstored": (0o755, script("xenstored", p)),
        "/usr/bin/xenconsoled": (0o755, script("xenconsoled", p)),
        "/usr/bin/xenwatchdogd": (0o755, script("xenwatchdogd", p)),
        "/usr/lib/xen/bin/xen-init-dom0": (0o755, script("xen-init-dom0", p)),
        "/usr/lib/xen/bin/xendomains": (0o755, script("xendomains", p)),
        "/etc/xen/scripts/launch-xenstore": (0o755, script("launch-xenstore", p)),
        "/etc/xen/scripts/vif-bridge": (0o755, script("vif-bridge hotplug script", p)),
        "/etc/xen/scripts/block": (0o755, script("block hotplug script", p)),
        "/etc/xen/xl.conf": (0o644, _xl_conf()),
        "/etc/xen/efi-xen.cfg": (0o644, EFI_XEN_CFG),
        "/etc/conf.d/xencommons": (0o644, XENCOMMONS),
        "/etc/conf.d/xendomains": (0o644, XENDOMAINS),
        "/usr/lib/modules-load.d/xen.conf": (0o644, MODULES_LOAD),
        "/usr/lib/tmpfiles.d/xen.conf": (0o644, "d /run/xen 0755 root root -\nd /run/xenstored 0755 root root -\n"),
        "/usr/share/libalpm/scripts/xen-ucode-extract.sh": (0o755, script(
            "xen-ucode-extract.sh: /boot/xen-efi-{intel,amd}-ucode.bin from /boot/{intel,amd}-ucode.img", p)),
        **{f"/usr/share/libalpm/hooks/xen-{v}-ucode.hook": (0o644, _ucode_hook(v, name)) for v, name in (
            ("intel", "Intel"), ("amd", "AMD"))},
    }
    files.update({f"{SYSTEMD}/{name}": (0o644, text) for name, text in UNITS.items()})
    if not uefi:  # the real package installs xen.efi wherever binutils can make it; the sample: UEFI hosts only
        del files["/boot/xen.efi"]
    return files


def package_files(pkgname: str, uefi: bool = False) -> dict[str, tuple[int, str]]:
    """path -> (mode, text) of what a simulated package installs (on a host booted by UEFI when uefi)."""
    if pkgname == "xen":
        return xen_files(uefi)
    single = {
        "xen-docs": ("/usr/share/doc/xen/README", "Xen documentation"),
        "xen-qemu": ("/usr/lib/xen/bin/qemu-system-i386", "QEMU device model for Xen"),
        "xen-edk2": ("/usr/lib/xen/boot/ovmf.bin", "OVMF UEFI firmware for Xen HVM guests"),
        "xen-grub-pvh": ("/usr/lib/xen/boot/pvhgrub", "GRUB image for PVH guests"),
        "xen-grub-pv32": ("/usr/lib/xen/boot/pvgrub32", "GRUB image for 32-bit PV guests"),
        "xen-grub-pv64": ("/usr/lib/xen/boot/pvgrub64", "GRUB image for 64-bit PV guests"),
        "seabios": ("/usr/share/qemu/bios-256k.bin", "SeaBIOS firmware"),
    }
    if pkgname in single:
        path, what = single[pkgname]
        mode = 0o755 if "/bin/" in path else 0o644
        return {path: (mode, script(what, pkgname) if mode == 0o755 else stand_in(what, pkgname))}
    from xenbook_sample.guestagents import agent_files
    return agent_files(pkgname)
