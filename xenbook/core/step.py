"""Steps: named end states that plan (read only) what the runner must do to reach them."""

from __future__ import annotations

from xenbook.core.actions import Plan, RunCommand, WriteFile
from xenbook.core.commands import Command
from xenbook.core.errors import PreconditionFailed
from xenbook.core.host import Host
from xenbook.core.paths import PENDING_DIR
from xenbook.core.renames import aliases



class Step:
    """A named end state; plan(host) reads the host and returns the actions that reach it."""

    section: str = ""
    name: str = ""
    group: str = ""  # one guest's steps share its name: a failure skips the rest of its group, not of the section
    triggers: tuple[str, ...] = ()  # Regeneration names to run after this step changed something
    provides: tuple[str, ...] = ()  # paths this step installs; a dry run skips later checks that miss only them

    def __init_subclass__(cls, **kwargs):
        """A step is named from its class unless its class body names it (a stable name several classes share)."""
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    def named(self, subject: str) -> str:
        """The name of this step for one subject: ClassName(subject)."""
        return f"{type(self).__name__}({subject})"

    def plan(self, host: Host) -> Plan:
        raise NotImplementedError

    def __repr__(self):
        return f"<{self.section}:{self.name}>"


class FileStep(Step):
    """A step that makes one file hold the text render(old) returns."""

    path: str = ""
    validator: str | None = None
    mode: int = 0o644
    enforce_mode: bool = False  # an existing file gains mode's x bits where it has r (e.g. an executable script)

    def render(self, host: Host, old: str | None) -> str:
        raise NotImplementedError

    def ok_reason(self) -> str:
        return f"{self.path} already as wanted"

    def plan(self, host: Host) -> Plan:
        old = host.read_bytes(self.path)
        old_text = None if old is None else old.decode("utf-8", "surrogateescape")
        try:
            new = self.render(host, old_text).encode("utf-8", "surrogateescape")
        except PreconditionFailed as e:
            return Plan.fail(e.message, e.remedy)
        except ValueError as e:
            return Plan.fail(f"cannot edit {self.path}: {e}", "fix the value named, then plan again")
        info = host.stat(self.path) if self.enforce_mode and old is not None else None
        mode = self.mode if info is None else executable(info.mode, self.mode)
        if new == old:
            if info is not None and info.mode != mode:
                return Plan.change(f"{self.path} has mode {info.mode:04o}, needs {mode:04o}",
                                   WriteFile(self.path, old, new, mode=mode, set_mode=True))
            return Plan.ok(self.ok_reason())
        return Plan.change(f"{'create' if old is None else 'update'} {self.path}",
                           WriteFile(self.path, old, new, mode=mode, validator=self.validator,
                                     set_mode=self.enforce_mode))


def executable(have: int, wanted: int) -> int:
    """An existing file's mode once it is executable as wanted says: its own bits kept, wanted's x bits added where
    the file has the r bit (as chmod +x respects a umask), and the owner's always. 0700 stays 0700 (a file holding a
    GRUB password hash stays private), 0600 becomes 0700, 0644 becomes 0755."""
    return have | (((have & 0o444) >> 2) & wanted & 0o111) | (wanted & 0o100)


class Regeneration(Step):
    """A generated file rebuilt by a command after its inputs changed, even if the last run was interrupted."""

    command: Command
    output: str | None = None  # the file the command replaces; backed up first
    validator: str | None = None  # the check (safety/validators.py) the output must pass after the command ran
    triggered_by: tuple[str, ...] = ()  # the steps of this run that changed its inputs (the runner sets it)

    @property
    def marker(self) -> str:
        return f"{PENDING_DIR}/{self.name}"

    @property
    def markers(self) -> tuple[str, ...]:
        """The pending marker, and those earlier releases named after this step's earlier names (core/renames.py)."""
        return (self.marker, *(f"{PENDING_DIR}/{old}" for old in aliases("step", self.name)))

    def stale(self, host: Host) -> str | None:
        """Why the output does not reflect its inputs, or None when it does."""
        return None

    def verify(self, host: Host) -> str | None:
        """After the command ran: what is wrong with the output, or None."""
        return self.stale(host)

    def plan(self, host: Host) -> Plan:
        if self.triggered_by:
            why = f"inputs changed by {', '.join(self.triggered_by)}"
        elif any(host.exists(m) for m in self.markers):
            why = "a previous run changed its inputs and stopped before regenerating"
        else:
            why = self.stale(host)
        if not why:
            return Plan.ok(f"{self.output or self.name} is current")
        return Plan.change(why, RunCommand(self.command, why))
