"""Commands as argv data, and their results."""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One program invocation: an argv tuple and optional stdin (secrets go through stdin, never argv)."""

    argv: tuple[str, ...]
    stdin: bytes | None = None

    def __post_init__(self):
        if not isinstance(self.argv, tuple) or not self.argv or not all(isinstance(a, str) for a in self.argv):
            raise TypeError(f"Command argv must be a non-empty tuple of str, got {self.argv!r}")
        if any("\x00" in a for a in self.argv):
            raise ValueError("Command arguments cannot hold NUL bytes")

    @classmethod
    def of(cls, *argv: str, stdin: bytes | str | None = None) -> "Command":
        data = stdin.encode() if isinstance(stdin, str) else stdin
        return cls(tuple(argv), data)

    @property
    def program(self) -> str:
        return self.argv[0]

    def display(self) -> str:
        """The command for people to read; never executed."""
        return shlex.join(self.argv)

    __str__ = display


@dataclass
class Result:
    """What a command did: exit code and captured output."""

    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def output_tail(text: str, lines: int = 8) -> str:
    """":" and the last lines of a command's output, indented, for an error message ("" when there is none)."""
    kept = text.strip().splitlines()[-lines:] if lines > 0 else []
    return (":\n    " + "\n    ".join(kept)) if kept else ""
