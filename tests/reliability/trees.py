"""Sample host trees as data: every entry's kind, mode, owner and content hash, compared and digested."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat

# What the runner keeps for itself, never part of "the host's state" when two trees are compared: backups, ledger,
# lock, and the manage section's dashboard snapshot (charts of the moment it was taken, so no two runs agree on it).
BOOKKEEPING = ("var/lib/xenbook/backups", "var/lib/xenbook/ledger.jsonl", "var/lib/xenbook/lock",
               "var/lib/xenbook/dashboard")
STATE = ".xenbook-sample/state.json"
# state.json's candidate as a run killed before its rename leaves it: its random parts are scrubbed as state.json's
STATES = (STATE, ".xenbook-sample/.state.json.XXXXXXXX.xenbook-new")
COVERED = re.compile(r"covered/[0-9a-f]{12}")  # the sample's mount keeps the covered folder under a random name
TEMP = re.compile(r"(/?\.[^/]+\.)[A-Za-z0-9_]{8}(\.xenbook-new)$")  # a write's temporary file: random in the middle


def _scrub_state(data: bytes) -> bytes:
    """state.json without what the simulation draws at random (a new volume's own LVM UUID, where a mount keeps the
    folder it covers), which no run of xenbook chooses and no two real machines share either."""
    try:
        state = json.loads(data)
    except ValueError:  # a candidate a kill cut short
        return data
    for vg in (state.get("lvm") or {}).values():
        for lv in vg.get("lvs", []):
            lv["uuid"] = "<random>"
    for mount in state.get("mounts", []) + state.get("pending mounts", []):
        if "covered" in mount:
            mount["covered"] = COVERED.sub("covered/<random>", mount["covered"])
    return json.dumps(state, sort_keys=True).encode()


def _scrub_path(rel: str) -> str:
    return COVERED.sub("covered/<random>", TEMP.sub(r"\1XXXXXXXX\2", rel))


def _sparse_digest(path: str, size: int) -> str:
    """A hash of a sparse file: of an image holding an ext2/3/4 filesystem, its size and the filesystem's type, UUID
    and label (the real mkfs.ext4 writes its own clock and random seeds, which no two runs share); of another, its
    size and data stretches (offset and bytes)."""
    from xenbook_sample.images import data_ranges, superblock
    fs = superblock(path)
    if fs is not None:
        return hashlib.sha256(f"image {size} {fs['fstype']} {fs['uuid']} {fs['label']}".encode()).hexdigest()
    h = hashlib.sha256(f"sparse {size}".encode())
    with open(path, "rb") as f:
        for start, length in data_ranges(path):
            f.seek(start)
            h.update(f"{start}:{length}".encode())
            h.update(f.read(length))
    return h.hexdigest()


def snapshot(root: str, *, ignore: tuple[str, ...] = (), scrub: bool = False) -> dict[str, tuple]:
    """{relative path: (kind, mode, uid, gid, sha256 or link target)} for every entry under root.

    ignore: relative paths (files or whole folders) left out; scrub: the random parts of names and of state.json
    (temporary files' middles, LVM UUIDs, covered folders) replaced by placeholders."""
    out: dict[str, tuple] = {}
    for folder, dirs, names in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        for name in sorted(dirs + names):
            path = os.path.join(folder, name)
            rel = os.path.normpath(os.path.join(rel_folder, name))
            rel = _scrub_path(rel) if scrub else rel
            if any(rel == i or rel.startswith(i + "/") for i in ignore):
                if name in dirs:
                    dirs.remove(name)
                continue
            st = os.lstat(path)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", mode, st.st_uid, st.st_gid, os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode, st.st_uid, st.st_gid, "")
            elif not stat.S_ISREG(st.st_mode):  # a FIFO, socket or device a hostile tree holds: never opened
                out[rel] = ("special", mode, st.st_uid, st.st_gid, stat.S_IFMT(st.st_mode))
            elif st.st_blocks * 512 < st.st_size:  # a sparse image: its data stretches, never its holes read
                out[rel] = ("file", mode, st.st_uid, st.st_gid, _sparse_digest(path, st.st_size))
            else:
                with open(path, "rb") as f:
                    data = f.read()
                if scrub and rel in STATES:
                    data = _scrub_state(data)
                out[rel] = ("file", mode, st.st_uid, st.st_gid, hashlib.sha256(data).hexdigest())
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
    return out


def host_state(root: str, whole: dict[str, tuple] | None = None) -> dict[str, tuple]:
    """The host as a run leaves it: the whole tree without the runner's backups, ledger and lock (from the
    snapshot whole of root, when given)."""
    if whole is None:
        return snapshot(root, ignore=BOOKKEEPING, scrub=True)
    out = {_scrub_path(k): v for k, v in whole.items()
           if not any(k == i or k.startswith(i + "/") for i in BOOKKEEPING)}
    for k in whole:
        if _scrub_path(k) in STATES and out[_scrub_path(k)][0] == "file":
            with open(os.path.join(root, k), "rb") as f:
                kind, mode, uid, gid, _ = out[_scrub_path(k)]
                out[_scrub_path(k)] = (kind, mode, uid, gid, hashlib.sha256(_scrub_state(f.read())).hexdigest())
    return out


def differences(a: dict[str, tuple], b: dict[str, tuple], limit: int = 12) -> str:
    """The first paths where two snapshots differ, for a failure message."""
    lines = []
    for path in sorted(set(a) | set(b)):
        if a.get(path) != b.get(path):
            lines.append(f"  {path}: {a.get(path, 'missing')} != {b.get(path, 'missing')}")
    more = f"\n  ... and {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


def digest(snap: dict[str, tuple]) -> str:
    """One hash for a whole snapshot."""
    return hashlib.sha256(json.dumps(sorted(snap.items())).encode()).hexdigest()
