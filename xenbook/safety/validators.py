"""How each kind of file is checked before it replaces anything: argv templates run with real tools."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from typing import Callable

from xenbook.connectors.rooted import run_local
from xenbook.core.commands import output_tail
from xenbook.core.errors import ValidationFailed
from xenbook.core.host import Host
from xenbook.edits import menulst, networkd, nmkeyfile, xencfg


def _after_line_2(data: bytes) -> bytes:
    """The menu entries of an /etc/grub.d/40_custom script: what grub-mkconfig copies verbatim."""
    return b"".join(data.splitlines(keepends=True)[2:])


@dataclass(frozen=True)
class Check:
    """One validator run: argv with '{path}', optionally on a transformed copy checked on this machine."""

    argv: tuple[str, ...]
    transform: Callable[[bytes], bytes] | None = None
    stdin: bool = False  # the tool reads the candidate on stdin (argv has no '{path}'); it runs on this machine

    @property
    def tool(self) -> str:
        return self.argv[0]

    def label(self) -> str:
        return " ".join(a for a in self.argv if a != "{path}")


@dataclass(frozen=True)
class PythonCheck:
    """A format check xenbook makes itself where no tool exists: func(data) says what is wrong, or None."""

    name: str
    func: Callable[[bytes], str | None]
    tool = "xenbook"

    def label(self) -> str:
        return self.name


def _includes_emptied(data: bytes) -> bytes:
    """pacman.conf with every Include naming /dev/null: the included mirror lists are the host's files, not ours."""
    return re.sub(rb"(?m)^([ \t]*Include[ \t]*=).*$", rb"\1 /dev/null", data)


def _xen_cfg(data: bytes) -> str | None:
    return xencfg.check_ascii(data)


def _network_file(data: bytes) -> str | None:
    return networkd.check_file(data)


def _nm_keyfile(data: bytes) -> str | None:
    return nmkeyfile.check_file(data)


def _menu_lst(data: bytes) -> str | None:
    return menulst.check_menu(data)


VALIDATORS: dict[str, tuple[Check | PythonCheck, ...]] = {
    "grub-script": (Check(("grub-script-check", "{path}")),),
    # bash cannot parse what follows `exec tail` (menu entries); the header itself is checked by the edit
    "grub-custom": (Check(("grub-script-check", "{path}"), _after_line_2),),
    "shell": (Check(("bash", "-n", "{path}")),),
    "fstab": (Check(("findmnt", "--verify", "--tab-file", "{path}")),),
    "pacman-conf": (Check(("pacman-conf", "--config", "{path}"), _includes_emptied),),
    "xen-cfg": (PythonCheck("ASCII and newline check", _xen_cfg),),
    "menu-lst": (PythonCheck("GRUB legacy command check", _menu_lst),),
    "network-file": (PythonCheck("systemd.network section check", _network_file),),
    # nmcli reads the profile on stdin and fails on an invalid property (NetworkManager 1.42 and later)
    "nm-keyfile": (PythonCheck("keyfile [connection] check", _nm_keyfile),
                   Check(("nmcli", "--offline", "connection", "modify"), stdin=True)),
    "nm-conf": (Check(("NetworkManager", "--config", "{path}", "--print-config")),),
}


def _fail(check: Check, where: str, result) -> ValidationFailed:
    return ValidationFailed(f"{check.label()} rejected the new {where} (exit {result.returncode}); "
                            f"the file was left as it was{output_tail(result.stderr + result.stdout)}")


def check_locally(check: Check | PythonCheck, data: bytes, where: str) -> bool:
    """Run check on data in a private temporary file here; False when the tool is not installed."""
    if isinstance(check, PythonCheck):
        problem = check.func(data)
        if problem:
            raise ValidationFailed(f"{check.name} rejected the new {where}; the file was left as it was: {problem}")
        return True
    if shutil.which(check.tool) is None:
        return False
    if check.transform:
        data = check.transform(data)
    if check.stdin:
        result = run_local(list(check.argv), stdin=data)
        if not result.ok:
            raise _fail(check, where, result)
        return True
    with tempfile.TemporaryDirectory(prefix="xenbook-check-") as tmp:
        path = os.path.join(tmp, "candidate")
        with open(path, "wb") as f:
            f.write(data)
        result = run_local([path if a == "{path}" else a for a in check.argv])
    if not result.ok:
        raise _fail(check, where, result)
    return True


def validate_bytes(name: str | None, data: bytes, where: str) -> list[str]:
    """Validate data here (no host involved); returns what was run and what could not be."""
    notes = []
    for check in VALIDATORS.get(name, ()) if name else ():
        ran = check_locally(check, data, where)
        notes.append(check.label() if ran else f"{check.tool} not installed: not checked")
    return notes


def validate_candidate(host: Host, name: str | None, data: bytes, candidate: str, where: str) -> list[str]:
    """Validate the candidate file at host path candidate; raises ValidationFailed, returns notes."""
    notes = []
    for check in VALIDATORS.get(name, ()) if name else ():
        if isinstance(check, PythonCheck) or check.transform is not None or check.stdin:
            ran = check_locally(check, data, where)
        else:
            result = host.exec_validator(check.argv, candidate)
            ran = result is not None
            if ran and not result.ok:
                raise _fail(check, where, result)
        notes.append(check.label() if ran else f"{check.tool} not installed: not checked")
    return notes
