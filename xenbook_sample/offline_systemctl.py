"""The machine's own systemctl, run offline (--root) on the sample tree, answering the sample host's enable, disable
and is-enabled: those read and write only unit files and links, which a real systemctl does rootless in any folder.

Only the unit-file part runs for real: --now is never passed on (a systemctl given --now starts units on the machine
it runs on); the sample simulates the start. The folder handed to --root must lie inside the sample tree, and the
paths systemctl prints are turned back into the sample host's paths."""

from __future__ import annotations

import os
import posixpath
import re
import shutil

from xenbook.connectors.rooted import run_local
from xenbook.core.commands import Result

ENABLED_LIKE = {"enabled", "enabled-runtime", "static", "indirect", "alias", "generated"}
PASSED_ON = ("-q", "--quiet", "--force", "--no-reload", "--system")
UNIT_DIRS = ("etc/systemd/system", "run/systemd/system", "usr/lib/systemd/system", "lib/systemd/system")
WRITTEN, WRITTEN_THROUGH = UNIT_DIRS[:2], (".wants", ".requires", ".upholds")  # where enable and disable write
OFFLINE_ENV = {"SYSTEMD_OFFLINE": "1", "SYSTEMCTL_SKIP_SYSV": "1"}  # no manager, no SysV script helpers
GONE = re.compile(r"^Failed to get unit file state for (\S+): No such file or directory$", re.M)
DID_NOT_RUN = (124, 126, 127)  # timed out, not executable, not found


class Refused(Exception):
    """The real systemctl would be handed a folder outside the sample tree."""


def _outer(host):
    return getattr(host, "outer", host)


def _inside(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def tree_root(host, root: str) -> str:
    """The local folder for the sample's root ("" for its "/"), checked to lie inside the sample tree, with no
    relative link on the way to its unit folders leading out of it, and no link systemctl writes through leading out
    of it at all."""
    top = os.path.realpath(_outer(host).root)
    local = os.path.realpath(host.real(root or "/"))
    if local == "/" or top == "/" or not _inside(local, top):
        raise Refused(f"{root or '/'} resolves to {local}, outside the sample host's tree")
    for folder in UNIT_DIRS:
        here = local
        for part in folder.split("/"):
            path = os.path.join(here, part)
            if not os.path.islink(path):
                here = path
                continue
            target = os.readlink(path)
            here = os.path.normpath(os.path.join(local, target.lstrip("/")) if target.startswith("/")
                                    else os.path.join(here, target))
            if not _inside(here, local):
                raise Refused(f"{root}/{folder} leads out of the sample host's tree through the link "
                              f"{root}/{posixpath.relpath(path, local)} -> {target}")
    for link in _written_through(local):
        if os.path.islink(link) and not _inside(os.path.realpath(link), local):
            raise Refused(f"{root}/{posixpath.relpath(link, local)} is a link to {os.readlink(link)}, which leads out "
                          "of the sample host's tree as this machine follows it (systemctl creates folders and links "
                          "through it); remove the link or make it a folder")
    return local


def _written_through(local: str) -> list[str]:
    """The paths systemctl enable and disable create folders and links through, as this machine's kernel follows
    them (not as systemd reads unit files, inside --root): the folders on the way to the unit folders it writes,
    and their .wants, .requires and .upholds folders."""
    out = []
    for folder in WRITTEN:
        out += [os.path.join(local, *folder.split("/")[:n]) for n in range(1, folder.count("/") + 2)]
        path = os.path.join(local, folder)
        if os.path.isdir(path):
            out += [os.path.join(path, n) for n in sorted(os.listdir(path)) if n.endswith(WRITTEN_THROUGH)]
    return out


def _run(exe: str, local: str, root: str, args: list[str]) -> Result:
    result = run_local([exe, f"--root={local}", *args], timeout=60, env={**os.environ, **OFFLINE_ENV})
    prefix, shown = local.rstrip("/") + "/", (root or "") + "/"
    return Result(result.returncode, result.stdout.replace(prefix, shown), result.stderr.replace(prefix, shown))


def _is_enabled(exe: str, local: str, root: str, names: list[str], quiet: bool) -> Result:
    """is-enabled as systemd 253 and later answer it: a missing unit prints not-found and the others follow; an
    older systemctl stops at the first missing unit with an error, so it is asked again for the ones after it."""
    states, err, rest, code, rounds = [], "", list(names), 1, 0
    while rest:
        result, rounds = _run(exe, local, root, ["is-enabled", *rest]), rounds + 1
        if result.returncode in DID_NOT_RUN:
            return result
        got = result.stdout.split()
        states += got
        gone = GONE.search(result.stderr)
        if gone is None or len(got) >= len(rest) or gone.group(1) != rest[len(got)]:
            err += result.stderr
            code = result.returncode
            break
        states.append("not-found")
        rest = rest[len(got) + 1:]
    if rounds > 1 or states and states[-1] == "not-found":
        code = 0 if ENABLED_LIKE & set(states) else 1
    return Result(code, "" if quiet else "".join(s + "\n" for s in states), err)


def answer(host, root: str, verb: str, names: list[str], flags: set[str]) -> Result | None:
    """What the machine's systemctl answers for verb (enable, disable or is-enabled) on the sample tree; None when
    no systemctl is installed or it did not run. Raises Refused for a root outside the sample tree."""
    exe = shutil.which("systemctl")
    if exe is None:
        _outer(host).__dict__.setdefault("systemctl_missing", "no systemctl is installed on this machine")
        return None
    local = tree_root(host, root)
    if verb == "is-enabled":
        result = _is_enabled(exe, local, root, names, bool(flags & {"-q", "--quiet"}))
    else:
        result = _run(exe, local, root, [verb, *[f for f in PASSED_ON if f in flags], *names])
    if result.returncode in DID_NOT_RUN:
        _outer(host).__dict__.setdefault("systemctl_missing", f"this machine's systemctl did not run "
                                         f"({(result.stderr.strip().splitlines() or [result.returncode])[-1]})")
        return None
    return result


def fallback_note(host) -> str:
    """What a fallback to the simulation prints: why, the first time on a sample host, then nothing."""
    outer = _outer(host)
    if outer.__dict__.get("systemctl_noted"):
        return ""
    outer.__dict__["systemctl_noted"] = True
    why = outer.__dict__.get("systemctl_missing", "this machine's systemctl did not run")
    return f"[simulated] {why}: the sample host simulates systemctl enable, disable and is-enabled\n"
