"""The sample host's SIMULATED mount, umount, mountpoint and losetup: a mount point becomes a link to its filesystem's
folder (.xenbook-sample/volumes/<id>); its own folder is kept under .xenbook-sample/covered until umount."""

from __future__ import annotations

import os
import posixpath
import secrets

from xenbook.core.commands import Result
from xenbook_sample.host import find_device
from xenbook_sample.mountinfo import next_id
from xenbook_sample.options import Usage, options
from xenbook_sample.storage import VOLUMES, _abs, file_volume, stand_in, volume_key
from xenbook_sample.tree import STATE_DIR

COVERED = f"/{STATE_DIR}/covered"  # mount points' own folders while something is mounted on them
DMESG = "       dmesg(1) may have more information after failed mount system call.\n"
PENDING = "pending mounts"  # state.json's mounts and unmounts whose folder moves are not done yet (finish)


def _point(host, target: str) -> str:
    """The local path of the mount point itself: its parent resolved (through other mounts), its name not."""
    parent, name = posixpath.split(target)
    return os.path.join(host.real(parent), name)


def mount(host, argv, stdin) -> Result:
    opts, args = options("mount", argv, "o:t:rw", ["options=", "types=", "read-only", "rw"], code=1)
    given = {o: v for o, v in opts}
    finish(host)
    state = host.load_state()
    if not args:
        return Result(0, "".join(f"{m['source']} on {m['target']} type {m['fstype']} ({m['options']})\n"
                                 for m in state["mounts"]), "")
    if len(args) != 2:
        raise Usage("mount: bad usage\nTry 'mount --help' for more information.\n"
                    "[simulated] xenbook's sample host simulates mount [-o OPTIONS] [-t TYPE] SOURCE DIR\n", 1)
    spec, given_dir = args
    target, info = _abs(given_dir), host.stat(_abs(given_dir))
    if info is None or info.kind != "dir":
        what = "mount point does not exist" if info is None else "mount point is not a directory"
        return Result(32, "", f"mount: {given_dir}: {what}.\n{DMESG}")
    dev, key = find_device(state, spec), volume_key(state, spec)
    if dev is None and (host.stat(key) is None or host.stat(key).kind != "file"):
        return Result(32, "", f"mount: {given_dir}: special device {spec} does not exist.\n{DMESG}")
    same = [m for m in state["mounts"] if m["target"] == target]
    source = dev["path"] if dev else None
    if same and (same[-1]["source"] == source or same[-1].get("file") == key):
        return Result(1, "", f"mount: {given_dir}: {source or key} is already mounted.\n")
    vol = state.get("volumes", {}).get(key, {}) if dev else file_volume(host, state, key, register=True)
    folder = f"{VOLUMES}/{vol['id']}" if vol.get("id") and vol.get("format", "raw") == "raw" else None
    if dev is not None and folder is None and dev["mountpoints"]:  # the machine's own filesystems: mounted again
        folder, vol = dev["mountpoints"][0], {"fstype": dev["fstype"]}
    wanted = [v for o, v in opts if o in ("-t", "--types")]
    if source is None:
        used = {int(lo["name"][4:]) for lo in state.setdefault("loops", [])}
        source = f"/dev/loop{min(set(range(len(used) + 1)) - used)}"
    if folder is None or (wanted and wanted[-1] not in ("auto", vol.get("fstype"))):
        return Result(32, "", f"mount: {given_dir}: wrong fs type, bad option, bad superblock on {source}, missing "
                              f"codepage or helper program, or other error.\n{DMESG}")
    if same or target == "/":
        return Result(32, "", f"mount: {given_dir}: [simulated] xenbook's sample host does not stack mounts\n")
    covered = f"{COVERED}/{secrets.token_hex(6)}"
    host.makedirs(COVERED)
    if dev is None:
        state["loops"].append({"name": source[5:], "file": key})
        host.write_atomic(source, stand_in(f"loop device {source} backed by {key}"), mode=0o660)
    ro = "ro" in ",".join(v for o, v in opts if o in ("-o", "--options")).split(",") or "-r" in given
    state["mounts"].append({"id": next_id(state["mounts"]), "target": target, "source": source,
                            "fstype": vol.get("fstype"), "fsroot": "/", "options": f"{'ro' if ro else 'rw'},relatime",
                            "covered": covered, **({"file": key} if dev is None else {})})
    state.setdefault(PENDING, []).append({"mount": target, "covered": covered, "folder": folder})
    host.save_state(state)  # the one update that mounts: what is pending in it is done now, or by the next opener
    finish(host, state)
    return Result(0, "", "")


def umount(host, argv, stdin) -> Result:
    opts, args = options("umount", argv, "Rlf", ["recursive", "lazy", "force"], code=1)
    recursive = any(o in ("-R", "--recursive") for o, _ in opts)
    finish(host)
    state, out_err, rc = host.load_state(), "", 0
    for arg in args:
        path, dev = _abs(arg), find_device(state, arg)
        mine = [m for m in state["mounts"] if m["target"] == path or (dev and m["source"] == dev["path"])
                or m.get("file") == path]
        if not mine:
            rc, out_err = 32, out_err + (f"umount: {arg}: not mounted.\n" if host.exists(path) or dev else
                                         f"umount: {arg}: no mount point specified.\n")
            continue
        top = mine[-1]["target"]
        below = [m for m in state["mounts"] if m["target"].startswith(top.rstrip("/") + "/")]
        if below and not recursive:
            rc, out_err = 32, out_err + f"umount: {top}: target is busy.\n"
            continue
        for m in sorted(below, key=lambda m: -len(m["target"])) + [mine[-1]]:
            if "covered" not in m:
                return Result(32, "", f"umount: {m['target']}: [simulated] xenbook's sample host keeps its own "
                                      "filesystems mounted\n")
            state["mounts"].remove(m)
            state.setdefault(PENDING, []).append({"umount": m["target"], "covered": m["covered"],
                                                  **({"loop": m["source"]} if "file" in m else {})})
            if "file" in m:
                state["loops"] = [lo for lo in state["loops"] if f"/dev/{lo['name']}" != m["source"]]
        host.save_state(state)  # the one update that unmounts
        finish(host, state)
    return Result(rc, "", out_err)


def finish(host, state: dict | None = None) -> None:
    """Bring the tree in line with the mount table: the folder moves (and loop devices) of the mounts and unmounts
    the last save recorded as pending, each done unless done already, then the table without them. A run killed
    between the save and the moves leaves them pending; whoever opens the sample host next finishes them, so a
    mount or an umount is one atomic update of state.json, as the kernel's are."""
    state = host.load_state() if state is None else state
    for op in state.get(PENDING, []):
        point, covered = _point(host, op.get("mount") or op["umount"]), host.real(op["covered"])
        if "mount" in op:
            if not os.path.islink(point) and os.path.lexists(point) and not os.path.lexists(covered):
                os.rename(point, covered)
            if not os.path.lexists(point):
                up = os.path.relpath(host.root, os.path.dirname(point))  # via the sample's root: chroot views follow
                os.symlink(os.path.join(up, host.real(op["folder"])[len(host.root) + 1:]), point)
        else:
            if os.path.islink(point):
                os.unlink(point)
            if os.path.lexists(covered) and not os.path.lexists(point):
                os.rename(covered, point)
            if op.get("loop"):
                host.remove(op["loop"])
    if state.pop(PENDING, None) is not None:
        host.save_state(state)


def mountpoint(host, argv, stdin) -> Result:
    opts, args = options("mountpoint", argv, "q", ["quiet"], code=1)
    quiet = bool(opts)
    if len(args) != 1:
        raise Usage("mountpoint: bad usage\nTry 'mountpoint --help' for more information.\n", 1)
    path = _abs(args[0])
    if host.stat(path) is None:
        return Result(1, "", "" if quiet else f"mountpoint: {args[0]}: No such file or directory\n")
    yes = any(m["target"] == path for m in host.load_state()["mounts"])
    return Result(0 if yes else 32, "" if quiet else f"{args[0]} is {'' if yes else 'not '}a mountpoint\n", "")


def losetup(host, argv, stdin) -> Result:
    """losetup -j FILE and -a: the loop devices mount -o loop attached, matched by the backing file's inode."""
    opts, args = options("losetup", argv, "j:a", ["associated=", "all"], code=1)
    given = {o: v for o, v in opts}
    wanted = given.get("-j", given.get("--associated"))
    if args or (wanted is None) == ("-a" not in given and "--all" not in given):
        raise Usage("losetup: bad usage\nTry 'losetup --help' for more information.\n"
                    "[simulated] xenbook's sample host simulates losetup -j FILE and losetup -a\n", 1)
    out = []
    for lo in host.load_state().get("loops", []):
        try:
            st = os.stat(host.real(lo["file"]))
        except FileNotFoundError:
            continue
        if wanted is not None:
            try:
                other = os.stat(host.real(_abs(wanted)))
            except FileNotFoundError:
                break
            if (other.st_dev, other.st_ino) != (st.st_dev, st.st_ino):
                continue
        out.append(f"/dev/{lo['name']}: [{st.st_dev:04d}]:{st.st_ino} ({lo['file']})\n")
    return Result(0, "".join(out), "")


PROGRAMS = {"mount": mount, "umount": umount, "mountpoint": mountpoint, "losetup": losetup}
