"""An in-memory host for tests: files in a dict, commands answered from a table."""

from __future__ import annotations

import posixpath
import shutil
from typing import Callable, Sequence

from xenbook.connectors.rooted import run_on_copy
from xenbook.core.commands import Command, Result
from xenbook.core.errors import HostError
from xenbook.core.host import FileInfo, Host, Validate, check_path

Answer = Result | Callable[["FakeHost", Command], Result]


class UnansweredCommand(AssertionError):
    """A test ran a command that its fake host neither answers nor lists as absent (a test bug, not a host error)."""


class FakeHost(Host):
    """files maps paths to contents; commands maps 'argv joined by spaces' (or the program) to answers.

    absent lists programs or whole argvs that are not installed: those answer 127 like a shell. Any other
    command that commands does not answer raises UnansweredCommand, so a test cannot pass on a made-up 127.
    """

    def __init__(self, files: dict[str, bytes | str] | None = None, commands: dict[str, Answer] | None = None,
                 modes: dict[str, int] | None = None, target: str = "fake", absent: Sequence[str] = ()):
        self.target = target
        self.over_network, self.chroot = target.startswith("ssh:"), target.startswith("chroot:")  # as those hosts
        self.files = {check_path(p): (v.encode() if isinstance(v, str) else v) for p, v in (files or {}).items()}
        self.modes = {p: 0o644 for p in self.files} | dict(modes or {})
        self.dirs = {"/"}
        for path in self.files:
            self._add_parents(path)
        self.commands = dict(commands or {})
        self.absent = set(absent)
        self.calls: list[tuple[str, ...]] = []
        self.writes: list[str] = []

    def _add_parents(self, path: str) -> None:
        folder = posixpath.dirname(path)
        while folder not in self.dirs:
            self.dirs.add(folder)
            folder = posixpath.dirname(folder)

    def run(self, command: Command, *, timeout=None, on_line=None) -> Result:
        self.calls.append(command.argv)
        answer = self.commands.get(" ".join(command.argv), self.commands.get(command.argv[0]))
        if answer is None:
            if command.argv[0] in self.absent or " ".join(command.argv) in self.absent:
                return Result(127, "", f"{command.argv[0]}: command not found (fake host)")
            raise UnansweredCommand(f"the fake host has no answer for {' '.join(command.argv)!r}: answer it"
                                    " in commands, or list the program or argv as absent")
        result = answer(self, command) if callable(answer) else answer
        if on_line:
            for line in result.stdout.splitlines():
                on_line(line)
        return result

    def read_bytes(self, path: str) -> bytes | None:
        return self.files.get(check_path(path))

    def stat(self, path: str) -> FileInfo | None:
        path = check_path(path)
        if path in self.files:
            return FileInfo("file", self.modes.get(path, 0o644), 0, 0, len(self.files[path]))
        if path in self.dirs:
            return FileInfo("dir", 0o755, 0, 0, 0)
        return None

    def listdir(self, path: str) -> list[str] | None:
        path = check_path(path)
        if path not in self.dirs:
            return None
        names = {p[len(path):].lstrip("/").split("/")[0] for p in list(self.files) + list(self.dirs)
                 if p.startswith(path.rstrip("/") + "/")}
        return sorted(n for n in names if n)

    def write_atomic(self, path: str, data: bytes, *, mode: int | None = None,
                     validate: Validate | None = None) -> None:
        path = check_path(path)
        if posixpath.dirname(path) not in self.dirs:
            raise HostError(f"cannot write {path}: its directory does not exist")
        tmp = f"{posixpath.dirname(path)}/.{posixpath.basename(path)}.xenbook-new"
        self.files[tmp] = data
        try:
            if validate is not None:
                validate(tmp)
        finally:
            del self.files[tmp]
        self.modes[path] = mode if mode is not None else self.modes.get(path, 0o644)
        self.files[path] = data
        self.writes.append(path)

    def makedirs(self, path: str, mode: int = 0o755) -> None:
        path = check_path(path)
        self.dirs.add(path)
        self._add_parents(path)

    def remove(self, path: str) -> None:
        self.files.pop(check_path(path), None)

    def remove_tree(self, path: str) -> None:
        path = check_path(path)
        inside = path.rstrip("/") + "/"
        self.files = {p: v for p, v in self.files.items() if p != path and not p.startswith(inside)}
        self.dirs = {d for d in self.dirs if d != path and not d.startswith(inside)} | {"/"}

    def copy_file(self, src: str, dst: str) -> None:
        self.makedirs(posixpath.dirname(dst))
        self.files[check_path(dst)] = self.files[check_path(src)]
        self.modes[dst] = self.modes.get(src, 0o644)

    def append(self, path: str, data: bytes, *, mode: int = 0o600) -> None:
        path = check_path(path)
        if posixpath.dirname(path) not in self.dirs:
            raise HostError(f"cannot write {path}: its directory does not exist")
        self.modes.setdefault(path, mode)
        self.files[path] = self.files.get(path, b"") + data

    def create_exclusive(self, path: str, data: bytes, *, mode: int = 0o644) -> bool:
        if check_path(path) in self.files:
            return False
        self.append(path, data, mode=mode)
        return True

    def exec_validator(self, argv: Sequence[str], path: str, data: bytes | None = None) -> Result | None:
        """Run the real tool here on a private copy of the fake file (or of data); a tool listed absent is not
        installed."""
        if argv[0] in self.absent or shutil.which(argv[0]) is None:
            return None
        return run_on_copy(argv, self.files[check_path(path)] if data is None else data)
