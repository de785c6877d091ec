"""Hostile host files: every file the boot and dom0 sections edit, found in a state a careless or hostile hand left
it in (CRLF, no final newline, empty, not UTF-8, broken or doubled markers, a block edited by hand, a huge or
one-line file, a directory, a link, a dangling link, mode 000). An apply either edits it and then converges, keeping
every line of the user's own outside xenbook's blocks, or fails that step naming the file, leaving it exactly as it
was; it never ends in a traceback, no program it runs crashes on it, and it never leaves a temporary file behind.
A link is followed, as Ansible's file modules follow one: the file it names inside the root is edited."""

from __future__ import annotations

import os
import re

import pytest

from xenbook.core.paths import TEMP_NAME
from xenbook.engine.runner import RAISED

from . import samples

# (profile, file, the section that edits it): every existing file the install, boot and dom0 sections edit
FILES = [("bios-grub2", "/etc/default/grub", "boot"), ("bios-grub2", "/etc/grub.d/40_custom", "boot"),
         ("bios-grub2", "/etc/xen/xl.conf", "dom0"), ("bios-grub2", "/etc/pacman.conf", "install"),
         ("bios-grub-legacy", "/boot/grub/menu.lst", "boot"), ("bios-grub-legacy", "/etc/xen/xl.conf", "dom0"),
         ("uefi-systemd-boot", "/boot/loader/loader.conf", "boot"), ("uefi-systemd-boot", "/etc/xen/xl.conf", "dom0"),
         ("uefi-systemd-boot", "/etc/pacman.conf", "install")]
BLOCK = re.compile(r"^# (BEGIN|END) xenbook (\S+)$", re.M)
USER_LINE = "# a line of the user's own, kept whatever xenbook does\n"
KINDS = ("dir", "link", "dangling", "mode000")  # what _put makes instead of writing text


def _own_lines(text: str) -> list[str]:
    """The lines outside xenbook's blocks and its menu entry."""
    out, inside = [], False
    for line in text.splitlines():
        if BLOCK.match(line.strip()):  # a marker line, indented or not, as edits/blocks.py reads it
            inside = line.strip().startswith("# BEGIN")
            continue
        if not inside:
            out.append(line)
    return out


def variants(text: str, converged: str) -> dict[str, bytes | str]:
    """Name -> the file's hostile content (bytes or text), or a kind: "dir", "link", "dangling", "mode000"."""
    ids = sorted(set(BLOCK.findall(converged)), key=str) or [("BEGIN", "x")]
    block = "".join(m.group(0) for m in re.finditer(r"^# BEGIN xenbook (\S+)\n.*?^# END xenbook \1\n", converged,
                                                    re.M | re.S))
    begin = f"# BEGIN xenbook {ids[0][1]}\n"
    return {
        "crlf": (text + USER_LINE).replace("\n", "\r\n").encode(),
        "no final newline": (text + USER_LINE).rstrip("\n"),
        "empty": "",
        "only the user's line": USER_LINE,
        "not utf-8": (text + USER_LINE).encode() + b"\xff\xfe latin-1 \xe9t\xe9\n",
        "a nul byte": (text + USER_LINE).encode() + b"\x00\n",
        "a begin marker alone": text + USER_LINE + begin,
        "an end marker first": text + USER_LINE + begin.replace("BEGIN", "END") + begin,
        "the block twice": text + USER_LINE + block + block,
        "the block edited by hand": text + USER_LINE + re.sub(r"(?m)^(?!#)(.+)$", r"\1 # edited", block, count=1),
        "markers indented": text + USER_LINE + "".join("  " + line for line in block.splitlines(True)),
        "a huge file": text + USER_LINE + "# padding\n" * 100_000,
        "one long line": text + USER_LINE + "#" + "x" * 200_000 + "\n",
        "a directory": "dir",
        "a link to another file": "link",
        "a dangling link": "dangling",
        "mode 000": "mode000",
    }


def _put(root: str, path: str, value: bytes | str) -> None:
    where = os.path.join(root, path.lstrip("/"))
    if os.path.lexists(where):
        os.unlink(where)
    if value == "dir":
        os.makedirs(os.path.join(where, "inside"))
    elif value == "link":
        os.symlink("/etc/hostname", where)
    elif value == "dangling":
        os.symlink("/etc/no-such-file", where)
    elif value == "mode000":
        with open(os.path.join(root, "etc/hostname"), "rb") as f, open(where, "wb") as g:
            g.write(f.read())
        os.chmod(where, 0)
    else:
        with open(where, "wb") as f:
            f.write(value if isinstance(value, bytes) else value.encode())


def _state(root: str, path: str) -> tuple:
    where = os.path.join(root, path.lstrip("/"))
    if os.path.islink(where):
        return ("link", os.readlink(where))
    if os.path.isdir(where):
        return ("dir", sorted(os.listdir(where)))
    if not os.path.exists(where):
        return ("absent",)
    with open(where, "rb") as f:
        return ("file", f.read(), os.stat(where).st_mode & 0o7777)


def _leftovers(root: str) -> list[str]:
    return [os.path.join(folder, n) for folder, _, names in os.walk(root) for n in names if TEMP_NAME.fullmatch(n)]


CASES = [(*file, name) for file in FILES for name in variants("", "")]


@pytest.mark.parametrize("profile, path, section, name", CASES, ids=[f"{f}:{p}:{n}" for f, p, _, n in CASES])
def test_a_hostile_host_file_is_edited_and_converges_or_refused_unchanged(profile, path, section, name, template,
                                                                          scratch, tally):
    start = template(profile, "installed")
    converged_root = template(profile, "xen")
    with open(os.path.join(start, path.lstrip("/")), errors="surrogateescape") as f:
        text = f.read()
    with open(os.path.join(converged_root, path.lstrip("/")), errors="surrogateescape") as f:
        converged = f.read()
    root = samples.copy_host(start, os.path.join(scratch, "host-files", f"{profile}-{abs(hash((path, name)))}"))
    value = variants(text, converged)[name]
    _put(root, path, value)
    before = _state(root, path)
    report = samples.apply(root, {}, [section])  # an exception here is a traceback: the case fails
    tally["host-file cases"] += 1
    assert not _leftovers(root), "a temporary file was left behind"
    crashed = [(s.name, s.reason) for s in report.steps if s.remedy == RAISED and " raised " in s.reason]
    assert not crashed, f"a program crashed on the file instead of answering: {crashed}"
    writers = [s for s in report.steps if any(d.get("path") == path for d in s.diffs)]
    failed = [s for s in report.steps if s.status == "failed"]
    if failed and (not writers or any(s.status == "failed" for s in writers)):
        assert _state(root, path) == before, f"{path} changed although its step failed: {failed[0].reason}"
        named = [s for s in failed if path in s.reason or path in s.remedy
                 or s.name == "BootLoaderKnown"]  # the file that shows the loader is gone: which loader, then?
        assert named, [(s.name, s.reason) for s in failed]
        return
    assert not failed or all(s.remedy or s.reason for s in failed)
    target = before[1] if before[0] == "link" else path  # a link names a file of the root, absolutely
    if before[0] == "link":
        assert _state(root, path) == before, "the link itself was replaced"
    after = _state(root, target)
    assert after[0] == "file", f"{target} is now {after[0]}"
    again = samples.apply(root, {}, [section], dry_run=True)
    assert {s.status for s in again.steps} <= {"ok", "skipped"}, [(s.name, s.status, s.reason) for s in again.steps
                                                                   if s.status not in ("ok", "skipped")]
    if before[0] == "file" and isinstance(value, str) and value not in KINDS:
        kept = _own_lines(after[1].decode("utf-8", "surrogateescape"))
        lost = [line for line in _own_lines(value) if line.strip() and line not in kept]
        assert not lost, f"the user's lines {lost[:3]} were lost"
