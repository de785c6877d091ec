"""A guest's disk against its size parameter: a difference is said, never passed as ok; growing is a guarded step.

Growing only, and only with grow: true while the guest is shut off. Its filesystem is mounted inside the running
guest, through blkback: resize2fs in dom0 would write a filesystem that another kernel has mounted (dom0 cannot use
the online resize, which needs the filesystem mounted in dom0 itself), and growing the volume alone would leave a
resize the guest has to finish by hand, on a device size the frontend may not have noticed. So the step refuses while
the guest runs and says how to stop it; GuestRunning starts it again after the grow.

- LVM: `lvextend -L SIZE VG/LV`, then `e2fsck -f -p` and `resize2fs` on the volume (resize2fs(8) asks for a
  forced check before an offline resize).
- A raw image: `truncate -s >SIZE` (">" is "at least": truncate(1) never shrinks the file then), then the same
  e2fsck and resize2fs on the unattached file. qcow2 images are refused by the parameters (qemu-img resize would grow
  one).
- A partition: reported only; xenbook does not move partition boundaries.
A filesystem that is not ext2/3/4 (or a partition table an installer wrote, for HVM guests) is left for the guest to
grow; the volume still grows. A smaller size is reported and refused: shrinking cuts off the filesystem's end."""

from __future__ import annotations

import re

from xenbook.core.actions import Plan, RunCommand
from xenbook.core.commands import Command
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.safety.guard import refusals
from xenbook.sections.domu.params import GuestParams
from xenbook.sections.domu.storage import (SECTION, blkid_tags, disk_facts, disk_path, logical_volume, lvm_json,
                                           loop_devices_of)

MIB, GIB = 1024 ** 2, 1024 ** 3
STALE = 16 * MIB  # a filesystem this much smaller than its disk was not grown with it (mke2fs may leave a little)
EXT = ("ext2", "ext3", "ext4")


def size_bytes(text: str) -> int:
    """A size parameter (20G, 1536M, 1048577K; checked by the model) in bytes, as lvcreate and truncate read it."""
    return int(text[:-1]) * 1024 ** "KMGT".index(text[-1].upper()) * 1024


def human(size: int) -> str:
    """A size in bytes as people read it: 20 GiB, 1536 MiB, or bytes when it is no whole MiB."""
    if size % GIB == 0:
        return f"{size // GIB} GiB"
    return f"{size // MIB} MiB" if size % MIB == 0 else f"{size} bytes"


def filesystem_bytes(host: Host, path: str) -> int | None:
    """The size of the ext2/3/4 filesystem on path (dumpe2fs -h: block count times block size), None when it holds
    none."""
    result = host.run(Command.of("dumpe2fs", "-h", path))
    count = re.search(r"^Block count:\s+(\d+)$", result.stdout, re.M)
    size = re.search(r"^Block size:\s+(\d+)$", result.stdout, re.M)
    return int(count.group(1)) * int(size.group(1)) if result.ok and count and size else None


class GuestDiskSize(Step):
    """The guest's volume or image is as large as size asks: a smaller one grows when grow is set (guest shut off),
    a larger one is reported and never shrunk, a partition is reported."""

    section = SECTION

    def __init__(self, g: GuestParams):
        self.g, self.name, self.group = g, self.named(g.name), g.name

    def current(self, host: Host) -> tuple[int | None, int]:
        """(the disk's size in bytes or None when it does not exist yet, the slack rounding may add to size)."""
        g = self.g
        if g.storage == "image":
            info = host.stat(disk_path(g))
            return (info.size if info else None), 0
        lv = logical_volume(host, g)
        if lv is None:
            return None, 0
        have, wanted = int(lv["lv_size"]), size_bytes(g.size)
        if have <= wanted:
            return have, 0
        vg = lvm_json(host, ("vgs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", "vg_extent_size",
                             g.volume_group), "vg")  # lvcreate rounds size up to whole extents
        return have, int(vg[0]["vg_extent_size"]) - 1 if vg else 0

    def plan(self, host: Host) -> Plan:
        g, path = self.g, disk_path(self.g)
        if g.storage == "partition":
            if not g.grow:
                return Plan.ok(f"{path} is a partition: its size is its own (size applies to new volumes and images)")
            return Plan.check("warning", path, f"grow is set, but {path} is a partition: xenbook does not move "
                              "partition boundaries", f"grow it by hand with {g.name} shut off (xl shutdown -w "
                              f"{g.name}): growpart DISK N or parted DISK resizepart N END, then e2fsck -f {path} and "
                              f"resize2fs {path}; then set grow: false")
        have, slack = self.current(host)
        wanted = size_bytes(g.size)
        if have is None:
            return Plan.ok(f"{path} does not exist yet: GuestStorage makes it {g.size}")
        what = "volume" if g.storage == "lvm" else "image"
        differs = f"size differs: the {what} {path} is {human(have)}, size asks {human(wanted)}"
        if wanted <= have <= wanted + slack:
            fs = filesystem_bytes(host, path)
            if fs is None or have - fs < STALE:
                return Plan.ok(f"{path} is {human(have)}, as size asks")
            differs = (f"the {what} {path} is {human(have)} as size asks, but its filesystem only {human(fs)}: a "
                       "grow stopped before resize2fs")
            wanted = have
        elif have > wanted:
            return Plan.check("warning", human(have), f"{differs}; xenbook never shrinks a disk: that would cut off "
                              "the end of the filesystem and the data there", f"set size to {human(have)} or more "
                              "(e.g. " + (f"{have // GIB}G" if have % GIB == 0 else f"{-(-have // MIB)}M") + "); to "
                              "shrink it, do it by hand with the guest shut off: resize2fs first, then lvreduce or "
                              "truncate, with a backup")
        if not g.grow:
            return Plan.check("warning", human(have), f"{differs}; set grow: true to grow it",
                              f"set grow: true and apply with {g.name} shut off (xl shutdown -w {g.name}): the "
                              f"{what} and its filesystem grow, then the guest starts again")
        if host.run(Command.of("xl", "domid", g.name)).ok:
            return Plan.check("warning", human(have), f"{differs}; grow is set, but {g.name} is running: its "
                              "filesystem is mounted inside the guest, and resizing it from dom0 under it would "
                              "corrupt it", f"shut it down (xl shutdown -w {g.name}) and apply again: the disk grows "
                              "before the guest starts")
        return self.grow(host, have, wanted, differs)

    def grow(self, host: Host, have: int, wanted: int, differs: str) -> Plan:
        """The grow of the disk from have to wanted bytes (of its filesystem only, when they are equal)."""
        g, path = self.g, disk_path(self.g)
        loops = loop_devices_of(host, path) if g.storage == "image" else ""
        tags = blkid_tags(host, path)
        _, facts = disk_facts(host, g, tags, loops)
        busy = [r.evidence for r in refusals(facts) if r.hard]
        if loops and not busy:
            busy = [f"{path} is attached to a loop device ({loops.split(':')[0]}): a guest or a mount still uses it"]
        if busy:
            return Plan.fail(f"{differs}, but the disk is in use in dom0: {'; '.join(busy)}",
                             "unmount it (umount, losetup -d) and apply again")
        fs = tags.get("TYPE")
        actions = [] if have == wanted else (
            [RunCommand(Command.of("lvextend", "-L", g.size, f"{g.volume_group}/{g.name}"))] if g.storage == "lvm"
            else [RunCommand(Command.of("truncate", "-s", f">{g.size}", path))])
        if fs in EXT:
            actions += [RunCommand(Command.of("e2fsck", "-f", "-p", path), ok_codes=(0, 1),
                                   why="resize2fs grows only a filesystem checked since it was last mounted",
                                   remedy=f"e2fsck found errors it could not repair on {path}: run e2fsck -f {path} "
                                          f"by hand with {g.name} shut off, then apply again"),
                        RunCommand(Command.of("resize2fs", path),
                                   remedy=f"the {('volume' if g.storage == 'lvm' else 'image')} grew but its "
                                          f"filesystem did not: run resize2fs {path} by hand to see why")]
            note = f"; its {fs} filesystem grows with it"
        else:
            found = f"a {fs} filesystem" if fs else (f"a {tags['PTTYPE']} partition table" if tags.get("PTTYPE")
                                                     else "no filesystem xenbook knows")
            note = (f"; it holds {found}: grow the partition and filesystem inside the guest (growpart, resize2fs "
                    "or its own tools)")
        if not actions:
            return Plan.fail(f"{differs}, and it holds {found}", "grow the filesystem by hand with its own tools")
        what = f"grow {path} from {human(have)} to {human(wanted)}" if have != wanted else \
            f"grow the filesystem on {path} to {human(have)}"
        return Plan.change(f"{what} (grow: true){note}", *actions)
