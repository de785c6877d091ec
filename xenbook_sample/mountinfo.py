"""The sample host's mount table as the kernel shows it in /proc/self/mountinfo, derived from the "mounts" of its
state: one line per mount ("ID PARENT MAJ:MIN ROOT TARGET VFS-OPTIONS OPTIONAL-FIELDS - FSTYPE SOURCE
SUPER-OPTIONS"). state.json stays the one record; the file is rewritten from it whenever a save changes the table,
and refreshed before a program reads it, so a run killed between the two writes leaves nothing stale behind."""

from __future__ import annotations

import posixpath

from xenbook_sample.host import all_devices

MOUNTINFO = "/proc/self/mountinfo"
FIRST_ID = 22  # the root mount's ID on a freshly booted Arch system (its parent, 1, is the initial rootfs)
ANON_MINOR = 20  # devices of filesystems without a block device (proc, tmpfs, btrfs) count from 0:20
# the mount's own flags (fs/proc_namespace.c show_mnt_opts); everything else belongs to the superblock
VFS_FLAGS = frozenset({"rw", "ro", "nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime",
                       "nosymfollow"})


def _escape(text: str) -> str:
    """A path field as the kernel's seq_path escapes it: space, tab, newline and backslash in octal."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in text)


def split_options(options: str) -> tuple[str, str]:
    """(mount options, superblock options) of a mount's combined option string."""
    words = [w for w in options.split(",") if w]
    ro = "ro" if "ro" in words else "rw"
    vfs = [ro] + [w for w in words if w in VFS_FLAGS and w not in ("rw", "ro")]
    return ",".join(vfs), ",".join([ro] + [w for w in words if w not in VFS_FLAGS])


def merged_options(vfs: str, sb: str) -> str:
    """findmnt's OPTIONS: the mount's options then the superblock's, one rw or ro first (libmount merge_optstr)."""
    words = [w for w in vfs.split(",") + sb.split(",") if w]
    ro = "ro" in words
    rest = [w for w in words if w not in ("rw", "ro")]
    return ",".join(["ro" if ro else "rw"] + rest)


def _ids(mounts: list[dict]) -> list[int]:
    """Each mount's ID: the one it was given when mounted, else its place in the table."""
    return [m.get("id") or FIRST_ID + i for i, m in enumerate(mounts)]


def next_id(mounts: list[dict]) -> int:
    """The ID the kernel gives a new mount: the lowest one no mount of the table holds (it reuses freed IDs)."""
    taken = set(_ids(mounts))
    return next(n for n in range(FIRST_ID, FIRST_ID + len(taken) + 2) if n not in taken)


def rows(state: dict) -> list[dict]:
    """The table's lines as fields: id, parent, majmin, root, target, vfs, fields, fstype, source, sb; and the
    source's device (None for a pseudo filesystem)."""
    devices: dict[str, dict] = {}
    for dev in all_devices(state):
        for name in [dev["path"], *dev.get("aliases", ())]:
            devices.setdefault(name, dev)
    mounts, anon, out = state["mounts"], {}, []
    ids = _ids(mounts)
    for i, (m, mid) in enumerate(zip(mounts, ids)):
        dev = devices.get(m["source"])
        if dev is not None and m["fstype"] != "btrfs":
            majmin = f"{dev['major']}:{dev['minor']}"
        else:  # btrfs gives every filesystem an anonymous device, shared by its subvolumes' mounts
            key = m["source"] if dev is not None else f"{m['source']}@{m['target']}"
            majmin = f"0:{anon.setdefault(key, ANON_MINOR + len(anon))}"
        above = [(len(o["target"]), oid) for o, oid in zip(mounts[:i], ids) if o["target"] != m["target"] and (
            o["target"] == "/" or m["target"].startswith(o["target"].rstrip("/") + "/"))]
        vfs, sb = split_options(m["options"])
        out.append({"id": mid, "parent": max(above)[1] if above else 1, "majmin": majmin,
                    "root": m.get("fsroot") or "/", "target": posixpath.normpath(m["target"]), "vfs": vfs,
                    "fields": f"shared:{mid - FIRST_ID + 1}", "fstype": m["fstype"] or "none",
                    "source": m["source"], "sb": sb, "device": dev})
    return out


def render(state: dict) -> str:
    """/proc/self/mountinfo of the simulated machine."""
    return "".join(f"{r['id']} {r['parent']} {r['majmin']} {_escape(r['root'])} {_escape(r['target'])} {r['vfs']} "
                   f"{r['fields']} - {r['fstype']} {_escape(r['source'])} {r['sb']}\n" for r in rows(state))


def sync(host, state: dict | None = None) -> str:
    """Write the mountinfo file when it differs from the state's table (atomically); its local path."""
    outer = getattr(host, "outer", host)  # a chroot view shares the machine's table
    data = render(outer.load_state() if state is None else state).encode()
    if outer.read_bytes(MOUNTINFO) != data:
        outer.makedirs(posixpath.dirname(MOUNTINFO))
        outer.write_atomic(MOUNTINFO, data, mode=0o444)
    return outer.real(MOUNTINFO)
