"""A guest's disk: a new LVM volume, a sparse image file or an existing partition, formatted only when safe."""

from __future__ import annotations

import json

from xenbook.core.actions import Plan, RunCommand
from xenbook.core.commands import Command
from xenbook.core.errors import HostError
from xenbook.core.host import Host
from xenbook.core.model import size_mib
from xenbook.core.step import Step
from xenbook.safety.guard import DeviceFacts, GuardRefused, check, device_facts, image_facts
from xenbook.sections.domu.params import GuestParams

SECTION = "domu"
STATE = "/var/lib/xenbook"


def disk_path(g: GuestParams) -> str:
    """Where the guest's disk is on dom0, known before it exists."""
    return g.disk


def blkid_tags(host: Host, path: str) -> dict[str, str]:
    """Signature tags (TYPE, UUID, LABEL, PTTYPE) blkid probes on path; empty when it finds none."""
    result = host.run(Command.of("blkid", "-p", "-o", "export", path))
    if result.returncode not in (0, 2):
        raise HostError(f"blkid -p {path} exited {result.returncode}: {result.stderr.strip()}")
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def lvm_json(host: Host, argv: tuple[str, ...], key: str) -> list[dict] | None:
    result = host.run(Command(argv))
    if result.returncode == 5 or "not found" in result.stderr:
        return None
    if not result.ok:
        raise HostError(f"{argv[0]} exited {result.returncode}: {result.stderr.strip()}")
    return json.loads(result.stdout)["report"][0][key]


def logical_volume(host: Host, g: GuestParams) -> dict | None:
    """The guest's logical volume as lvs reports it (lv_size in bytes), None when it does not exist."""
    lvs = lvm_json(host, ("lvs", "--reportformat", "json", "--units", "b", "--nosuffix",
                          "-o", "lv_name,vg_name,lv_size,lv_path", f"{g.volume_group}/{g.name}"), "lv")
    return lvs[0] if lvs else None


class GuestStorage(Step):
    """The guest's disk exists: created when missing, never recreated, never shrunk."""

    section = SECTION

    def __init__(self, g: GuestParams):
        self.g, self.name, self.group = g, self.named(g.name), g.name
        self.provides = (disk_path(g),)

    def plan(self, host: Host) -> Plan:
        g, path = self.g, disk_path(self.g)
        if g.storage == "partition":
            return Plan.ok(f"{path} exists") if host.exists(path) else Plan.fail(
                f"{path} does not exist", "name an existing partition in device")
        if g.storage == "image":
            if host.exists(path):
                return Plan.ok(f"{path} exists ({host.stat(path).size} bytes apparent size)")
            return Plan.change(f"create the sparse image {path} of {g.size}",
                               RunCommand(Command.of("mkdir", "-p", g.image_dir)),
                               RunCommand(Command.of("truncate", "-s", g.size, path)))
        lv = logical_volume(host, g)
        if lv:
            return Plan.ok(f"{path} exists ({int(lv['lv_size']) // 1024 ** 3} GiB)")
        vgs = lvm_json(host, ("vgs", "--reportformat", "json", "--units", "b", "--nosuffix",
                               "-o", "vg_name,vg_size,vg_free", g.volume_group), "vg")
        if not vgs:
            return Plan.fail(f"volume group {g.volume_group} does not exist",
                             "create it (pvcreate, vgcreate) or choose storage image")
        free = int(vgs[0]["vg_free"]) // (1024 * 1024)
        if free < size_mib(g.size):
            return Plan.fail(f"{g.volume_group} has {free // 1024} GiB free, {g.size} needed",
                             "choose a smaller size or another volume group")
        return Plan.change(f"create the logical volume {path} of {g.size}",
                           RunCommand(Command.of("lvcreate", "--yes", "--wipesignatures", "y", "-L", g.size,
                                                 "-n", g.name, g.volume_group)))


class GuestFilesystem(Step):
    """The disk holds the ext4 filesystem xenbook made for this guest; nothing else is ever formatted unasked."""

    section = SECTION

    def __init__(self, g: GuestParams):
        self.g, self.name, self.group = g, self.named(g.name), g.name

    def plan(self, host: Host) -> Plan:
        g, path = self.g, disk_path(self.g)
        if not host.exists(path):
            return Plan.fail(f"{path} does not exist", "create the storage first", missing=(path,))
        tags = blkid_tags(host, path)
        if tags.get("TYPE") == "ext4" and tags.get("UUID") == g.disk_uuid:
            return Plan.ok(f"{path} holds the guest's ext4 filesystem (UUID {g.disk_uuid})")
        mkfs = RunCommand(Command.of("mkfs.ext4", "-q", "-F", "-L", g.name[:16], "-U", g.disk_uuid, path))
        loops = loop_devices_of(host, path) if g.storage == "image" else ""
        if g.storage == "image" and not tags and not loops:
            return Plan.change(f"format the new image {path} as ext4", mkfs)
        device, facts = disk_facts(host, g, tags, loops)
        try:
            overridden = check(facts, force=g.force, confirm=g.confirm if g.confirm != path else device)
        except GuardRefused as e:
            return Plan.fail(str(e).split("\n  what to do: ")[0], str(e).split("what to do: ")[-1])
        note = "; forced and confirmed over: " + "; ".join(r.evidence for r in overridden) if overridden else ""
        return Plan.change(f"format {path} as ext4 (UUID {g.disk_uuid}){note}", mkfs)


def disk_facts(host: Host, g: GuestParams, tags: dict[str, str], loops: str = "") -> tuple[str, DeviceFacts]:
    """The name lsblk gives the guest's disk, and what the destructive guard needs to know about it: its mounts
    (through loop devices, for an image, whose `losetup -j` output loops is), active swap, signatures (tags)."""
    path = disk_path(g)
    lsblk = host.run(Command.of("lsblk", "-J", "-p", "-o", "NAME,TYPE,FSTYPE,PTTYPE,PARTTYPE,MOUNTPOINTS"))
    tree = json.loads(lsblk.stdout) if lsblk.ok else {"blockdevices": []}
    device = path if g.storage == "image" else real_device(host, path, tree)
    export, swaps = "\n".join(f"{k}={v}" for k, v in tags.items()), host.read_text("/proc/swaps") or ""
    return device, (image_facts(path, loops, tree, export, swaps) if g.storage == "image" else
                    device_facts(device, tree, export, swaps))


def loop_devices_of(host: Host, image: str) -> str:
    """What `losetup -j IMAGE` prints: a line for each loop device backed by the image (empty when none is)."""
    result = host.run(Command.of("losetup", "-j", image))
    if not result.ok:
        raise HostError(f"losetup -j {image} exited {result.returncode}: {result.stderr.strip()}; without it xenbook "
                        "cannot tell whether the image is mounted (install util-linux)")
    return result.stdout


def real_device(host: Host, path: str, tree: dict) -> str:
    """The name lsblk uses for path: /dev/vg0/x is listed as /dev/mapper/vg0-x."""
    if path.startswith("/dev/") and path.count("/") == 3 and not path.startswith("/dev/mapper/"):
        vg, lv = path.split("/")[2:]
        mapper = f"/dev/mapper/{vg.replace('-', '--')}-{lv.replace('-', '--')}"
        names = json.dumps(tree)
        if f'"{mapper}"' in names:
            return mapper
    return path
