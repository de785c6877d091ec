"""How each kind of file is checked before it replaces anything: argv templates run with real tools."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from typing import Callable, Collection

from xenbook.connectors.rooted import run_on_copy
from xenbook.core.commands import output_tail
from xenbook.core.errors import ValidationFailed
from xenbook.core.host import Host
from xenbook.edits import menulst, networkd, nmkeyfile, xencfg


def _after_line_2(data: bytes) -> bytes:
    """The menu entries of an /etc/grub.d/40_custom script: what grub-mkconfig copies verbatim."""
    return b"".join(data.splitlines(keepends=True)[2:])


@dataclass(frozen=True)
class Check:
    """One validator run, where the host's tools are: argv with '{path}', optionally on a transformed copy."""

    argv: tuple[str, ...]
    transform: Callable[[bytes], bytes] | None = None
    stdin: bool = False  # the tool reads the candidate on stdin (argv has no '{path}')

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


NOT_VALIDATED = "not validated: "  # how a note of a check that could not run begins


def names() -> list[str]:
    """The validators' names, as steps and allow_unvalidated name them."""
    return sorted(VALIDATORS)


def _fail(check: Check, where: str, result, left: str) -> ValidationFailed:
    return ValidationFailed(f"{check.label()} rejected the {where} (exit {result.returncode}); "
                            f"{left}{output_tail(result.stderr + result.stdout)}")


def _missing(check: Check, name: str, where: str, place: str, allowed: Collection[str], nothing: str) -> str:
    """The note of a check whose tool is not installed at place, when name is allowed to go unchecked; else raise."""
    if name in allowed:
        return f"{NOT_VALIDATED}{check.tool} is not installed {place} (the {name} check; allow_unvalidated lists it)"
    raise ValidationFailed(f"the {where} cannot be validated: {check.tool} (the {name} check) is not installed "
                           f"{place}; {nothing}",
                           remedy=f"install {check.tool} {place}, or add {name} to allow_unvalidated in the host's "
                                  "parameters to accept it unchecked")


def _python(check: PythonCheck, data: bytes, where: str, left: str) -> str:
    problem = check.func(data)
    if problem:
        raise ValidationFailed(f"{check.name} rejected the {where}; {left}: {problem}")
    return check.label()


def check_locally(check: Check | PythonCheck, data: bytes, where: str) -> bool:
    """Run check on data in a private temporary file here; False when the tool is not installed."""
    if isinstance(check, PythonCheck):
        _python(check, data, f"new {where}", "the file was left as it was")
        return True
    if shutil.which(check.tool) is None:
        return False
    result = run_on_copy(check.argv, check.transform(data) if check.transform else data)
    if not result.ok:
        raise _fail(check, f"new {where}", result, "the file was left as it was")
    return True


def validate_bytes(name: str | None, data: bytes, where: str, allowed: Collection[str] = (),
                   target: str = "") -> list[str]:
    """Validate data on this machine (a plan: no host involved); returns what was run and what could not be. A
    tool missing here fails like an apply would, unless name is allowed, or target names the host where the apply
    checks it (an ssh target)."""
    notes = []
    for check in VALIDATORS.get(name, ()) if name else ():
        if check_locally(check, data, where):
            notes.append(check.label())
        elif target:
            notes.append(f"{NOT_VALIDATED}{check.tool} is not installed on this machine, so the plan did not check "
                         f"{where}; the apply checks it on {target}")
        else:
            notes.append(_missing(check, name, f"new {where}", "here", allowed, "a plan cannot show it valid"))
    return notes


def validate_candidate(host: Host, name: str | None, data: bytes, candidate: str, where: str,
                       allowed: Collection[str] = (), *, new: bool = True) -> list[str]:
    """Validate the candidate file at host path candidate where the host's tools are; raises ValidationFailed (a
    rejection, or a tool not installed on the host unless allowed lists name), returns notes. new: the candidate
    replaces where only when valid (else where is a file already in place, checked after it was made)."""
    notes = []
    what, left = (f"new {where}", "the file was left as it was") if new else (where, "it stays as it was made")
    for check in VALIDATORS.get(name, ()) if name else ():
        if isinstance(check, PythonCheck):
            notes.append(_python(check, data, what, left))
            continue
        copy = check.transform(data) if check.transform else data if check.stdin else None
        result = host.exec_validator(check.argv, candidate, copy)
        if result is None:
            notes.append(_missing(check, name, what, f"on {host.target}", allowed,
                                  "nothing was written" if new else "it is not known to be valid"))
        elif not result.ok:
            raise _fail(check, what, result, left)
        else:
            notes.append(check.label())
    return notes
