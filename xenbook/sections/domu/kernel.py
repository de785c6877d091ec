"""A direct-boot guest's kernel and initramfs: dom0's copies kept equal to the guest's own /boot."""

from __future__ import annotations

import re

from xenbook.core.actions import Plan, RunCommand
from xenbook.core.commands import Command
from xenbook.core.errors import HostError
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.sections.domu.params import GuestParams
from xenbook.sections.domu.storage import SECTION, STATE, disk_path

BOOT_DIR = "/var/lib/xen/boot"
BOOT_FILES = ("vmlinuz-linux", "initramfs-linux.img")


def debugfs(g: GuestParams, request: str) -> Command:
    """debugfs reading the guest's filesystem without mounting it (read-only); on a block device with Direct I/O,
    because blkback writes below dom0's page cache, which could otherwise hold blocks from before the guest's."""
    return Command.of("debugfs", *(() if g.storage == "image" else ("-D",)), "-R", request, disk_path(g))


def guest_file(host: Host, g: GuestParams, name: str) -> tuple[int, int] | None:
    """(size, mtime) of /boot/name in the guest's filesystem, None when it has no such file; HostError when debugfs
    cannot read the filesystem (debugfs exits 0 either way and says why on stderr)."""
    result = host.run(debugfs(g, f"stat /boot/{name}"))
    size, mtime = re.search(r"\bSize: (\d+)", result.stdout), re.search(r"^ *mtime: 0x([0-9a-f]+)", result.stdout, re.M)
    if result.ok and size and mtime:
        return int(size.group(1)), int(mtime.group(1), 16)
    if result.ok and "File not found" in result.stderr:
        return None
    why = [line for line in result.stderr.splitlines() if not line.startswith("debugfs 1.")] or ["no output"]
    code = f" (exit {result.returncode})" if result.returncode else ""
    raise HostError(f"debugfs cannot read /boot/{name} on {disk_path(g)}{code}: {why[0]}")


def copy_files(host: Host, paths: list[str]) -> dict[str, tuple[int, int]]:
    """(size, mtime) of those of paths that exist on dom0."""
    result = host.run(Command.of("stat", "-c", "%s %Y %n", *paths))
    if result.returncode not in (0, 1):
        raise HostError(f"stat exited {result.returncode}: {result.stderr.strip()}")
    rows = (line.split(" ", 2) for line in result.stdout.splitlines())
    return {row[2]: (int(row[0]), int(row[1])) for row in rows if len(row) == 3 and row[0].isdigit()}


class GuestKernelCurrent(Step):
    """/var/lib/xen/boot/<name> holds the kernel and initramfs now in the guest's /boot (same size and mtime).

    Direct boot reads them from dom0, so after pacman -Syu in the guest the copies go stale and the old kernel boots
    without its modules. The step reads the guest's /boot with debugfs, never mounting it, so it checks a running
    guest too; it refreshes the copies (debugfs dump -p, keeping the guest's mtime, then mv) only while the guest is
    stopped, before GuestRunning starts it, and only warns while it runs. pvhgrub (boot: pvhgrub) reads the
    guest's own /boot and needs none of this, but it stays a choice: it needs the xen-grub-pvh build and type pvh."""

    section = SECTION

    def __init__(self, g: GuestParams):
        self.g, self.name, self.group = g, self.named(g.name), g.name
        self.folder = f"{BOOT_DIR}/{g.name}"
        self.marker = f"{STATE}/guests/{g.name}.bootstrapped"

    def refresh(self, names: list[str]) -> list[RunCommand]:
        out = [RunCommand(Command.of("mkdir", "-p", self.folder))]
        for n in names:
            out += [RunCommand(debugfs(self.g, f"dump -p /boot/{n} {self.folder}/{n}.new")),
                    RunCommand(Command.of("mv", "-f", f"{self.folder}/{n}.new", f"{self.folder}/{n}"),
                               remedy=f"debugfs could not copy /boot/{n} out of {disk_path(self.g)}: run the "
                                      "dump by hand to see why")]
        return out

    def plan(self, host: Host) -> Plan:
        g = self.g
        if (host.read_text(self.marker) or "").strip() != g.disk_uuid:  # a dry run before the bootstrap
            return Plan.change(f"copy the guest's kernel and initramfs to {self.folder} once it is bootstrapped",
                               *self.refresh(list(BOOT_FILES)))
        try:
            guest = {n: guest_file(host, g, n) for n in BOOT_FILES}
        except HostError as e:
            return Plan.fail(str(e), "check the guest's filesystem (it must be xenbook's ext4), or use boot pvhgrub")
        absent = [f"/boot/{n}" for n, v in guest.items() if v is None]
        if absent:
            return Plan.check("warning", ", ".join(absent), f"the guest has no {', '.join(absent)}: dom0 keeps "
                              "booting its old copy", "install linux in the guest (pacman -S linux), or set "
                              "boot: pvhgrub")
        paths = {n: f"{self.folder}/{n}" for n in BOOT_FILES}
        have = copy_files(host, list(paths.values()))
        stale = [n for n in BOOT_FILES if have.get(paths[n]) != guest[n]]
        if not stale:
            return Plan.ok(f"{self.folder} holds the guest's current kernel and initramfs")
        copied = all(paths[n] in have for n in stale)
        if host.run(Command.of("xl", "domid", g.name)).ok:
            why = (f"the guest's kernel was updated; the copy refreshes when it is stopped ({', '.join(stale)} in "
                   f"{self.folder} differ from its /boot)" if copied else
                   f"{', '.join(stale)} missing in {self.folder}; copied when the guest is stopped")
            return Plan.check("warning", ", ".join(stale), why,
                              f"xl shutdown -w {g.name}, then apply again: the copies refresh before it starts")
        verb = "refresh" if copied else "copy"
        return Plan.change(f"{verb} {', '.join(stale)} in {self.folder} from the guest's /boot",
                           *self.refresh(stale))
