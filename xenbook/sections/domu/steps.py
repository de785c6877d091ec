"""The domU section: a guest created safely, bootstrapped with pacstrap, configured for Xen, and started."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from xenbook.core.actions import Deferred, Plan, RunCommand, WriteFile
from xenbook.core.commands import Command
from xenbook.core.host import Host
from xenbook.core.renames import aliases
from xenbook.core.step import Step
from xenbook.edits import networkd, xlcfg
from xenbook.facts import xen
from xenbook.sections.domu.checks import password_hash
from xenbook.sections.domu.header import MANAGED
from xenbook.sections.domu.identity import bootstrap_marker, identified_guests
from xenbook.sections.domu.grow import GuestDiskSize
from xenbook.sections.domu.kernel import BOOT_DIR, GuestKernelCurrent
from xenbook.sections.domu.params import GuestParams
from xenbook.sections.domu.presence import GuestAbsent, GuestAutostart
from xenbook.sections.domu.storage import SECTION, STATE, GuestFilesystem, GuestStorage, disk_path

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

DEVICE_MODEL = "/usr/lib/xen/bin/qemu-system-i386"
FIRMWARE = {"seabios": "/usr/share/qemu/bios-256k.bin", "ovmf": "/usr/lib/xen/boot/ovmf.bin"}
PVHGRUB = "/usr/lib/xen/boot/pvhgrub"
RESOLV_STUB = "../run/systemd/resolve/stub-resolv.conf"  # relative to /etc, as the ArchWiki's systemd-resolved asks


class XenRunning(Step):
    """Guests need a running Xen: this machine is dom0 and xl answers; HVM/PVH need hardware support."""

    section = SECTION

    def __init__(self, guests: list[GuestParams]):
        self.guests = guests

    def plan(self, host: Host) -> Plan:
        if not xen.xen_state(host).dom0:
            return Plan.fail("not running as Xen's dom0", "finish the dom0 section and reboot into the Xen entry")
        info = xen.xl_info(host)
        if info is None:
            return Plan.fail("xl info does not answer", "start xenstored: systemctl start xenstored")
        needs_hvm = sorted(g.name for g in self.guests if g.type in ("hvm", "pvh") and g.state == "present")
        if needs_hvm and "hvm" not in info.virt_caps:
            return Plan.fail(f"{', '.join(needs_hvm)} need{'s' if len(needs_hvm) == 1 else ''} VT-x/AMD-V, and Xen "
                             f"reports virt_caps: {' '.join(info.virt_caps)}",
                             "enable VT-x/AMD-V in the firmware, or use type pv")
        return Plan.ok(f"Xen {info.xen_version} answers; virt_caps: {' '.join(info.virt_caps)}")


class GuestDeviceModel(Step):
    """An HVM guest has QEMU and its firmware installed."""

    section = SECTION

    def __init__(self, g: GuestParams):
        self.g, self.name, self.group = g, self.named(g.name), g.name

    def plan(self, host: Host) -> Plan:
        missing = [p for p in (DEVICE_MODEL, FIRMWARE[self.g.firmware]) if not host.exists(p)]
        if missing:
            return Plan.fail(f"{', '.join(missing)} missing: HVM guests need the device model and firmware",
                             "run the install section with xen_qemu, hvm_guests (seabios) or xen_edk2 (ovmf)")
        if self.g.iso and not host.exists(self.g.iso):
            return Plan.fail(f"the install medium {self.g.iso} does not exist", "download the Arch ISO there")
        return Plan.ok(f"QEMU and {self.g.firmware} installed")


class GuestNameFree(Step):
    """No other domain or hand-written config uses the guest's name (never a silent suffix)."""

    section = SECTION

    def __init__(self, g: GuestParams):
        self.g, self.name, self.group = g, self.named(g.name), g.name

    def plan(self, host: Host) -> Plan:
        cfg = f"/etc/xen/{self.g.name}.cfg"
        text = host.read_text(cfg)
        if text is not None and not any(text.startswith(h) for h in (MANAGED, *aliases("header", MANAGED))):
            return Plan.fail(f"{cfg} exists and was not written by xenbook: the name {self.g.name} is taken",
                             "choose another name, or move that config away if it is yours to replace")
        running = host.run(Command.of("xl", "domid", self.g.name)).ok
        if running and text is None:
            return Plan.fail(f"a domain named {self.g.name} is running but has no xenbook config",
                             "choose another name")
        return Plan.ok(f"the name {self.g.name} is free or already xenbook's")


def guest_files(g: GuestParams, mnt: str) -> dict[str, tuple[bytes, int]]:
    """What xenbook writes inside a new guest (path under mnt → (content, mode))."""
    root = f"UUID={g.disk_uuid}" if g.fstab_device == "uuid" else "/dev/xvda"
    fstab = (f"{MANAGED}# <file system> <dir> <type> <options> <dump> <pass>\n"
             f"{root}\t/\text4\trw,relatime\t0 1\n")
    network = networkd.render([("Match", [("Type", "ether"), ("Driver", "vif")]),
                               ("Network", [("DHCP", "yes")])], MANAGED)
    files = {
        "/etc/fstab": (fstab.encode(), 0o644),
        "/etc/hostname": (f"{g.host_name}\n".encode(), 0o644),
        "/etc/mkinitcpio.conf.d/xenbook-xen.conf": (
            (MANAGED + "# Xen's block and network frontends: the autodetect hook in dom0 cannot see them.\n"
             "MODULES+=(xen-blkfront xen-netfront)\n").encode(), 0o644),
        "/etc/systemd/network/20-xen-vif.network": (network.encode(), 0o644),
    }
    if g.ssh_key:
        files["/root/.ssh/authorized_keys"] = (f"{g.ssh_key}\n".encode(), 0o600)
    if g.boot == "pvhgrub":
        files["/boot/grub.cfg"] = ((f"{MANAGED}set timeout=1\nmenuentry 'Arch Linux' {{\n"
                                    f"\tlinux /boot/vmlinuz-linux root={root} rw console=hvc0\n"
                                    "\tinitrd /boot/initramfs-linux.img\n}\n").encode(), 0o644)
    return {f"{mnt}{p}": v for p, v in files.items()}


class GuestBootstrapped(Step):
    """The guest's filesystem holds Arch (pacstrap or a copy) set up for Xen (GuestKernelCurrent copies its kernel)."""

    section = SECTION

    def __init__(self, g: GuestParams):
        self.g, self.name, self.group = g, self.named(g.name), g.name
        self.marker = bootstrap_marker(g.name)

    def plan(self, host: Host) -> Plan:
        g = self.g
        mnt, dev = f"{STATE}/mnt/{g.name}", disk_path(g)
        # a run killed while the disk was mounted (even after the marker) left it mounted: unmount it before the
        # guest starts on it, and before mount would refuse it ("already mounted")
        stale = ([RunCommand(Command.of("umount", "-R", mnt), why="left mounted by an interrupted run")]
                 if host.run(Command.of("mountpoint", "-q", mnt)).ok else [])
        done = (host.read_text(self.marker) or "").strip()
        if done == g.disk_uuid:
            if stale:
                return Plan.change(f"bootstrapped, but an interrupted run left {dev} mounted at {mnt}", *stale)
            return Plan.ok(f"bootstrapped (filesystem {g.disk_uuid}; delete {self.marker} to redo)")
        mount = ("mount", "-o", "loop", dev, mnt) if g.storage == "image" else ("mount", dev, mnt)
        fill = (RunCommand(Command.of("pacstrap", "-K", mnt, "base", "linux", *g.packages), tail=30)
                if g.bootstrap == "pacstrap" else
                RunCommand(Command.of("rsync", "-aAXH", "--numeric-ids", *(f"--exclude=/{d}/*" for d in (
                    "proc", "sys", "dev", "run", "tmp", "mnt", "var/lib/xenbook")), f"{g.copy_from}/", f"{mnt}/"),
                           tail=30))
        files = guest_files(g, mnt)
        units = ["systemd-networkd.service", "systemd-resolved.service", "serial-getty@hvc0.service"]
        units += ["sshd.service"] if "openssh" in g.packages else []
        keys = [RunCommand(Command.of("install", "-d", "-m", "0700", f"{mnt}/root/.ssh"))] if g.ssh_key else []
        actions = [*stale, RunCommand(Command.of("mkdir", "-p", "-m", "0700", mnt)), RunCommand(Command.of(*mount)),
                   fill, *keys,
                   Deferred(f"write {', '.join(p[len(mnt):] for p in files)} in the guest",
                            lambda h: [WriteFile(p, h.read_bytes(p), data, mode=mode, set_mode=True)
                                       for p, (data, mode) in files.items()]),
                   RunCommand(Command.of("arch-chroot", mnt, "mkinitcpio", "-P"), tail=20),
                   RunCommand(Command.of("arch-chroot", mnt, "systemctl", "enable", *units)),
                   # systemd-resolved's stub for programs that read /etc/resolv.conf themselves (Go, dig, musl); made
                   # from dom0 after the last arch-chroot, which bind-mounts dom0's resolv.conf over the guest's
                   RunCommand(Command.of("ln", "-sf", RESOLV_STUB, f"{mnt}/etc/resolv.conf"),
                              why="/etc/resolv.conf names systemd-resolved's stub")]
        secret = password_hash(g)
        if secret:
            actions.append(RunCommand(Command.of("chpasswd", "-e", "-R", mnt, stdin=f"root:{secret}\n"),
                                      why="root's password hash (from stdin, never shown)"))
        actions.append(Deferred(f"record {self.marker}", lambda h: [
            WriteFile(self.marker, h.read_bytes(self.marker), f"{g.disk_uuid}\n".encode(), mode=0o644)]))
        plan = Plan.change(f"bootstrap {dev} ({g.bootstrap}) mounted at {mnt}", *actions)
        plan.cleanup = [RunCommand(Command.of("umount", "-R", mnt))]
        return plan


def domain_config(g: GuestParams, host_cpus: int | None = None) -> str:
    """The guest's /etc/xen/<name>.cfg."""
    disks = [xlcfg.disk_spec(disk_path(g), fmt="raw")]  # image_format qcow2 is refused (guests.py)
    if g.type == "hvm" and g.iso:
        disks.append(f"format=raw, vdev=hdc, access=ro, devtype=cdrom, target={g.iso}")
    kernel = ramdisk = cmdline = firmware = None
    extra: list[tuple[str, str]] = []
    root = f"UUID={g.disk_uuid}" if g.fstab_device == "uuid" else "/dev/xvda"
    if g.type == "hvm":
        firmware = {"seabios": "bios", "ovmf": "uefi"}[g.firmware]
        extra = [("serial", '"pty"'), ("vnc", "1"), ("vnclisten", '"127.0.0.1"')]
    elif g.boot == "pvhgrub":
        kernel = PVHGRUB
    else:
        kernel, ramdisk = f"{BOOT_DIR}/{g.name}/vmlinuz-linux", f"{BOOT_DIR}/{g.name}/initramfs-linux.img"
        cmdline = f"root={root} rw console=hvc0"
    vif = xlcfg.vif_spec(g.vif_mac, g.bridge)
    return xlcfg.render_domain(xlcfg.DomainConfig(
        name=g.name, type=g.type, memory=g.memory, maxmem=g.maxmem or g.memory, vcpus=g.vcpus, cpus=g.cpus,
        kernel=kernel, ramdisk=ramdisk, cmdline=cmdline, firmware=firmware, disks=tuple(disks), vifs=(vif,),
        extra=tuple(extra)), header=MANAGED)


class GuestConfig(Step):
    """/etc/xen/<name>.cfg holds the guest's configuration in today's keys."""

    section = SECTION

    def __init__(self, g: GuestParams):
        self.g, self.name, self.group = g, self.named(g.name), g.name

    def plan(self, host: Host) -> Plan:
        path, new = f"/etc/xen/{self.g.name}.cfg", domain_config(self.g).encode()
        old = host.read_bytes(path)
        if old == new:
            return Plan.ok(f"{path} already as wanted")
        later = restart_note(self.g, old.decode("utf-8", "replace")) if old is not None and host.run(
            Command.of("xl", "domid", self.g.name)).ok else ""
        return Plan.change(f"{'create' if old is None else 'update'} {path}{later}",
                           WriteFile(path, old, new, mode=0o644))


def _setting(text: str, key: str) -> int | None:
    found = re.search(rf"^\s*{key}\s*=\s*(\d+)\s*$", text, re.M)
    return int(found.group(1)) if found else None


def restart_note(g: GuestParams, old: str) -> str:
    """What a config change means for the running guest: nothing until it is next created from the file (xl keeps
    the config a domain was created with, for its own reboots too: xl(1), config-update); memory can change now
    with xl mem-set, up to the maxmem it started with."""
    boot = ", or the host's next boot (autostart)" if g.autostart else ""
    note = (f"; {g.name} is running: the change takes effect at its next restart from this file (xl shutdown -w "
            f"{g.name}, then xl create /etc/xen/{g.name}.cfg{boot}); a reboot inside the guest keeps the config it "
            "started with")
    memory = _setting(old, "memory")
    top = _setting(old, "maxmem") or memory
    if memory is not None and g.memory != memory and top:
        note += (f"; its memory can change now: xl mem-set {g.name} {g.memory}m (at most the maxmem it started "
                 f"with, {top} MiB)" if g.memory <= top else
                 f"; memory {g.memory} MiB is above the maxmem it started with ({top} MiB): only the restart gives it")
    return note


class GuestRunning(Step):
    """The guest runs: its config passes xl create -n, xl create starts it, xl list shows it."""

    section = SECTION

    def __init__(self, g: GuestParams):
        self.g, self.name, self.group = g, self.named(g.name), g.name

    def plan(self, host: Host) -> Plan:
        result = host.run(Command.of("xl", "domid", self.g.name))
        if result.ok:
            return Plan.ok(f"running as domain {result.stdout.strip()}")
        cfg = f"/etc/xen/{self.g.name}.cfg"
        return Plan.change(f"start {self.g.name}", RunCommand(Command.of("xl", "create", "-n", cfg), tail=10),
                           RunCommand(Command.of("xl", "create", cfg), tail=10),
                           RunCommand(Command.of("xl", "list", self.g.name)))


def domu_steps(params: RunbookParams, host: Host) -> list[Step]:
    guests = identified_guests(params.guests, host)
    steps: list[Step] = [XenRunning(guests)]
    for g in guests:
        if g.state == "absent":  # autostart off first: a reboot meanwhile does not start it again
            steps += [GuestAutostart(g), GuestAbsent(g)]
            continue
        steps.append(GuestNameFree(g))
        if g.type == "hvm":
            steps.append(GuestDeviceModel(g))
        steps += [GuestStorage(g), GuestDiskSize(g)]
        if g.bootstrap != "none":  # an ISO's installer (HVM) or the user fills the disk: xenbook formats nothing
            steps += [GuestFilesystem(g), GuestBootstrapped(g)]
            if g.boot == "direct":
                steps.append(GuestKernelCurrent(g))
        steps += [GuestConfig(g), GuestAutostart(g)]
        if g.start:
            steps.append(GuestRunning(g))
    return steps
