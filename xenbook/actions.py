"""What a step's plan asks for: file writes with their diffs, and commands."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .commands import Command


@dataclass
class WriteFile:
    """Make path hold new (old is what it holds now, None when absent)."""

    path: str
    old: bytes | None
    new: bytes
    mode: int | None = None  # for a new file; an existing file keeps its mode
    validator: str | None = None  # a name in validators.VALIDATORS
    set_mode: bool = False  # also give an existing file mode


    def diff(self) -> str:
        old = (self.old or b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = self.new.decode("utf-8", "replace").splitlines(keepends=True)
        lines = difflib.unified_diff(old, new, fromfile="/dev/null" if self.old is None else f"a{self.path}",
                                     tofile=f"b{self.path}")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)

    def describe(self) -> str:
        if self.old == self.new and self.set_mode:
            return f"chmod {self.mode:04o} {self.path}"
        return f"{'create' if self.old is None else 'edit'} {self.path}"


@dataclass
class RunCommand:
    """Run command on the host; an exit code outside ok_codes fails the step."""

    command: Command
    why: str = ""
    ok_codes: tuple[int, ...] = (0,)
    remedy: str = ""

    def describe(self) -> str:
        return self.command.display()


Action = WriteFile | RunCommand


@dataclass
class Plan:
    """A step's verdict before anything is written: the actions needed, or why none are."""

    actions: list[Action] = field(default_factory=list)
    reason: str = ""
    failed: bool = False
    remedy: str = ""
    verdict: str = ""  # for checks: ok, warning or blocking
    value: str = ""  # for checks: what was found
    facts: dict = field(default_factory=dict)  # plain data for the host report

    @classmethod
    def ok(cls, reason: str) -> "Plan":
        return cls([], reason)

    @classmethod
    def fail(cls, reason: str, remedy: str = "") -> "Plan":
        return cls([], reason, failed=True, remedy=remedy)

    @classmethod
    def check(cls, verdict: str, value: str, reason: str, remedy: str = "", *, fail: bool = False,
              facts: dict | None = None) -> "Plan":
        """A read-only check's verdict; fail makes it a failed step (for blocking verdicts when asked)."""
        return cls([], reason, failed=fail, remedy=remedy, verdict=verdict, value=value, facts=facts or {})

    @classmethod
    def change(cls, reason: str, *actions: Action) -> "Plan":
        return cls(list(actions), reason)
