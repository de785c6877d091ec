"""The Host interface every target implements: run commands, read files, write them atomically."""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

from xenbook.core.commands import Command, Result
from xenbook.core.errors import HostError

Validate = Callable[[str], None]

T = TypeVar("T")


@dataclass(frozen=True)
class FileInfo:
    """What stat says about a path on the host."""

    kind: str  # "file", "dir", "link" or "other"
    mode: int  # permission bits only
    uid: int
    gid: int
    size: int


def check_path(path: str) -> str:
    """Return path normalised; absolute, no NUL, no '..' components, or HostError."""
    if not isinstance(path, str) or not path.startswith("/") or "\x00" in path:
        raise HostError(f"host paths must be absolute: {path!r}")
    if ".." in path.split("/"):
        raise HostError(f"host paths may not contain '..': {path!r}")
    return posixpath.normpath(path).replace("//", "/")


class Host(ABC):
    """A machine xenbook reads and changes: the local one, one over SSH, a chroot, or a simulated one."""

    target: str = ""
    simulated: bool = False
    over_network: bool = False  # xenbook reaches it over the network: a network change can cut the session off
    chroot: bool = False  # an installed system below a directory: its /proc and /sys are another machine's

    @property
    def label(self) -> str:
        return f"{self.target} (SIMULATED host)" if self.simulated else self.target

    # commands
    @abstractmethod
    def run(self, command: Command, *, timeout: float | None = None,
            on_line: Callable[[str], None] | None = None) -> Result:
        """Run argv on the host and return its result; never raises for a non-zero exit."""

    def terminal(self, command: Command) -> list[str]:
        """The argv to run here, on a pseudo-terminal, that runs command on the host interactively (`xl console`
        for the dashboard's console); HostError when this target has no terminal to give."""
        raise HostError(f"{self.target} gives no terminal for {' '.join(command.argv)}",
                        "run it in a terminal on the host itself")

    # reads
    @abstractmethod
    def read_bytes(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""

    def read_text(self, path: str) -> str | None:
        data = self.read_bytes(path)
        return None if data is None else data.decode("utf-8", errors="surrogateescape")

    @abstractmethod
    def stat(self, path: str) -> FileInfo | None:
        """FileInfo for path (following links), or None when it does not exist."""

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    @abstractmethod
    def listdir(self, path: str) -> list[str] | None:
        """Sorted names in a directory, or None when it is not one."""

    # writes: only the runner calls these
    @abstractmethod
    def write_atomic(self, path: str, data: bytes, *, mode: int | None = None,
                     validate: Validate | None = None) -> None:
        """Replace path with data in one rename; keep mode and owner; validate the candidate first."""

    @abstractmethod
    def makedirs(self, path: str, mode: int = 0o755) -> None:
        """Create a directory and its parents when missing."""

    @abstractmethod
    def remove(self, path: str) -> None:
        """Remove a file when it exists."""

    @abstractmethod
    def copy_file(self, src: str, dst: str) -> None:
        """Copy src to dst keeping mode, owner and times (for backups)."""

    def remove_tree(self, path: str) -> None:
        """Remove a directory and everything below it, never following a symbolic link (pruning old backups)."""
        raise HostError(f"{self.target} cannot remove the directory {path}")

    # the ledger and the lock (ledger.py, lock.py)
    def append(self, path: str, data: bytes, *, mode: int = 0o600) -> None:
        """Add data at the end of path (created with mode when missing), on disk before this returns."""
        raise HostError(f"{self.target} cannot append to {path}")

    def create_exclusive(self, path: str, data: bytes, *, mode: int = 0o644) -> bool:
        """Create path holding data and return True, or return False when path already exists."""
        raise HostError(f"{self.target} cannot create {path} exclusively")

    # validators run with real tools, where the host's files can be reached
    @abstractmethod
    def exec_validator(self, argv: Sequence[str], path: str, data: bytes | None = None) -> Result | None:
        """Run a validator where the host's tools are, with '{path}' in argv standing for path, or, given data, for
        a private temporary file beside path that holds data (an argv without '{path}' reads data on stdin); None
        when the tool is not installed there."""

    def fact(self, read: Callable[["Host"], T]) -> T:
        """read(self) once until the runner changes the host or starts a run: the cache is keyed by the function, so
        read must be a module-level function (a lambda or a closure would be a new key each time)."""
        if read.__name__ == "<lambda>" or "<locals>" in read.__qualname__:
            raise TypeError(f"host.fact() needs a module-level function, not {read.__qualname__}")
        cache = self.__dict__.setdefault("_facts", {})
        if read not in cache:
            cache[read] = read(self)
        return cache[read]

    def forget(self) -> None:
        """Drop cached facts after a change."""
        self.__dict__.pop("_facts", None)

    def begin_run(self, dry_run: bool, scope: str = "") -> None:
        """A run of scope (the sections it covers) begins: facts are read afresh; a dry run changes nothing until
        end_run."""
        self.forget()

    def end_run(self) -> None:
        """The run has ended."""

    def close(self) -> None:
        """Release connections."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
