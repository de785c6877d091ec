"""What a step's plan asks for: file writes with their diffs, and commands."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from xenbook.core.commands import Command

if TYPE_CHECKING:
    from xenbook.core.host import Host


@dataclass
class WriteFile:
    """Make path hold new (old is what it holds now, None when absent)."""

    path: str
    old: bytes | None
    new: bytes
    mode: int | None = None  # for a new file; an existing file keeps its mode
    validator: str | None = None  # a name in validators.VALIDATORS
    set_mode: bool = False  # also give an existing file mode
    backup: bool = True  # False for regenerable files (dashboard snapshots): the runner keeps no copy of old

    def diff(self) -> str:
        if b"\0" in (self.old or b"") + self.new:  # images and other binary files: no line diff
            return f"Binary files {'/dev/null' if self.old is None else 'a' + self.path} and b{self.path} differ\n"
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
class RemoveFile:
    """Remove path, which holds old (a file xenbook wrote that now does harm); the runner backs it up first."""

    path: str
    old: bytes
    new = None

    def diff(self) -> str:
        return WriteFile(self.path, self.old, b"").diff().replace(f"+++ b{self.path}", "+++ /dev/null", 1)

    def describe(self) -> str:
        return f"remove {self.path}"


@dataclass
class RunCommand:
    """Run command on the host; an exit code outside ok_codes fails the step."""

    command: Command
    why: str = ""
    ok_codes: tuple[int, ...] = (0,)
    remedy: str = ""
    remedies: tuple[tuple[str, str], ...] = ()  # (regex over the output, remedy); the first match wins
    tail: int = 8  # output lines a failure message quotes
    host: "Host | None" = None  # run on this other host (e.g. a XAPI pool master) instead of the runner's

    def describe(self) -> str:
        return self.command.display() + (f"  (on {self.host.target})" if self.host is not None else "")

    def remedy_for(self, output: str) -> str:
        """The remedy for a failure whose output is output: the first matching known failure, else remedy."""
        return next((fix for pattern, fix in self.remedies if re.search(pattern, output, re.M)), self.remedy)


@dataclass
class Deferred:
    """Actions that depend on what the actions before them produced (a clone's PKGBUILD, a build's files).

    A dry run shows the description; an apply calls expand(host) once the earlier actions ran."""

    description: str
    expand: Callable[[Host], list["Action"]]

    def describe(self) -> str:
        return self.description


Action = WriteFile | RemoveFile | RunCommand | Deferred


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
    missing: tuple[str, ...] = ()  # paths whose absence alone failed this plan (an earlier step may provide them)
    reboot: str = ""  # a reboot is needed before the next section, and why
    cleanup: list[RunCommand] = field(default_factory=list)  # run after the actions, even when one failed

    @classmethod
    def ok(cls, reason: str) -> "Plan":
        return cls([], reason)

    @classmethod
    def fail(cls, reason: str, remedy: str = "", *, missing: tuple[str, ...] = ()) -> "Plan":
        return cls([], reason, failed=True, remedy=remedy, missing=tuple(missing))

    @classmethod
    def check(cls, verdict: str, value: str, reason: str, remedy: str = "", *, fail: bool = False,
              facts: dict | None = None) -> "Plan":
        """A read-only check's verdict; fail makes it a failed step (for blocking verdicts when asked)."""
        return cls([], reason, failed=fail, remedy=remedy, verdict=verdict, value=value, facts=facts or {})

    @classmethod
    def change(cls, reason: str, *actions: Action) -> "Plan":
        return cls(list(actions), reason)
