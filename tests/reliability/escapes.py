"""Hostile links and the canaries beside a sample host: symbolic links that point out of the sample's root, made
where a test puts them, and a snapshot of everything outside the root, which no operation on the sample may change.

A case lives in a folder holding the sample's root ("root") and "outside": canary files and folders (one dressed up
as another sample's .xenbook-sample/volumes/) that every hostile link points into."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from typing import Callable

from xenbook.core.commands import Command, Result
from xenbook.core.errors import HostError

Link = Callable[[str, str], str]  # (the link's own local path, the outside folder) -> the link's target
CANARY_TIME = 1700000000  # every canary's mtime: a write outside the root shows as a changed time, size or hash
CANARIES = {"canary": b"canary\n", "etc/passwd": b"root:x:0:0::/root:/bin/bash\n", "etc/shadow": b"root:*:1::::::\n",
            "etc/hostname": b"outside\n", "boot/vmlinuz-linux": b"outside kernel\n", "dir/": None, "mnt/": None,
            ".xenbook-sample/volumes/v1/etc/shadow": b"root:*:1::::::\n", ".xenbook-sample/volumes/v1/boot/": None}
CLIMB = "../" * 40  # more parents than any sample path has


def absolute(sub: str = "") -> Link:
    """An absolute link to outside/sub."""
    return lambda here, out: os.path.join(out, sub).rstrip("/")


def relative(sub: str = "") -> Link:
    """A relative link that climbs exactly out of the root into outside/sub."""
    return lambda here, out: os.path.relpath(os.path.join(out, sub), os.path.dirname(here))


def climbing(sub: str = "") -> Link:
    """A relative link with more '..' than there are parents, then down to outside/sub."""
    return lambda here, out: CLIMB + os.path.join(out, sub).lstrip("/").rstrip("/")


def via_volumes(sub: str = "", up: bool = False) -> Link:
    """A link through a .xenbook-sample/volumes/ folder and back out to outside/sub (absolute, or climbing when up)."""
    def make(here: str, out: str) -> str:
        path = f"{out}/.xenbook-sample/volumes/../../{sub}".rstrip("/")
        return CLIMB + path.lstrip("/") if up else path
    return make


def like_a_mount(here: str, out: str) -> str:
    """A link in the very form the sample's mount writes (up to a root, then .xenbook-sample/volumes/<id>), into the
    outside's look-alike volume v1."""
    return os.path.relpath(os.path.join(out, ".xenbook-sample/volumes/v1"), os.path.dirname(here))


def outside_of(root: str) -> str:
    """Make the outside folder beside root, with its canaries, and return it."""
    out = os.path.join(os.path.dirname(root), "outside")
    for rel, data in CANARIES.items():
        path = os.path.join(out, rel)
        os.makedirs(path if data is None else os.path.dirname(path), exist_ok=True)
        if data is not None:
            with open(path, "wb") as f:
                f.write(data)
    for folder, dirs, names in os.walk(out):
        for name in dirs + names:
            os.utime(os.path.join(folder, name), (CANARY_TIME, CANARY_TIME))
    os.utime(out, (CANARY_TIME, CANARY_TIME))
    return out


def put(root: str, path: str, link: Link) -> None:
    """Replace the sample's path (whatever is there) with a hostile link."""
    local = os.path.join(root, path.lstrip("/"))
    if os.path.isdir(local) and not os.path.islink(local):
        shutil.rmtree(local)
    elif os.path.lexists(local):
        os.unlink(local)
    os.makedirs(os.path.dirname(local), exist_ok=True)
    os.symlink(link(local, os.path.join(os.path.dirname(root), "outside")), local)


def snapshot(root: str) -> dict[str, tuple]:
    """Every entry beside and outside root (its folder's other entries, recursively; root's own tree left out):
    kind, mode, size, mtime and content hash or link target."""
    top = os.path.dirname(root)
    out = {".": (os.stat(top).st_mtime_ns,)}
    for folder, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) != root]
        for name in dirs + names:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                body = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    body = hashlib.sha256(f.read()).hexdigest()
            else:
                body = None
            out[os.path.relpath(path, top)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_size,
                                               st.st_mtime_ns, body)
    return out


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """What changed outside the root: new, gone and changed entries."""
    return ([f"new {p}" for p in sorted(set(after) - set(before))] +
            [f"gone {p}" for p in sorted(set(before) - set(after))] +
            [f"changed {p}" for p in sorted(set(before) & set(after)) if before[p] != after[p]])


def run(host, *argv: str, stdin: str | None = None) -> Result | None:
    """Run a program on the sample; a refusal (HostError) is a fine answer to a hostile tree."""
    try:
        return host.run(Command.of(*argv, stdin=stdin))
    except HostError:
        return None


def attempt(action: Callable[[], object]) -> None:
    """Call a host's file operation; a refusal (HostError) is a fine answer to a hostile tree."""
    try:
        action()
    except HostError:
        pass
