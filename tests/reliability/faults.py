"""Fault injection from the test side: the runner runs in a forked child that stops at its kill points.

Kill points are the moments a real crash could strike: before every step, before and after every command the runner
runs while applying (regenerations among them), at every fsync (a temporary file written but not yet renamed; the
ledger; the lock), before and after every rename (after the rename: before the directory fsync), and before, in the
middle of and after every backup copy. Calls made inside the sample host's simulated programs are not points: they
stand for other programs (pacman, grub-mkconfig) with crash behaviour of their own.

Nothing here is a hook in xenbook: os, shutil and a few methods are wrapped in the child only. The child logs what
it is about to write and back up with plain write(2) calls, which survive SIGKILL.

Two ways to stop at a point:
  kill_at(work, n): a child runs work and is SIGKILLed at its nth point (a real crash, from scratch);
  checkpoints(work, root, folder): a child runs work once and, at each point, keeps a copy of the host tree as it is
  there. A SIGKILL takes nothing from the page cache, so that copy is what a kill at the point leaves (kill_at
  checks it for a sample of points): every point of a run for the price of one.

What this does not prove: durability when the power fails. A killed process loses no written data, whether or not
it was fsynced, so a kill just before an fsync and one just after it leave the same tree: an fsync is one point,
and deleting every os.fsync from xenbook would leave this tier green."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import time
import traceback
from dataclasses import dataclass, field

from xenbook_sample.images import copy_sparse

FROZEN = 1764003600.0  # the simulated programs' clock in these tests, so that trees compare byte for byte
_REAL = {"replace": os.replace, "fsync": os.fsync, "copy2": shutil.copy2, "copytree": shutil.copytree}


class _FrozenTime:
    """The time module as the sample's simulated programs see it: a clock that stands still."""

    def __getattr__(self, name):
        return getattr(time, name)

    def time(self) -> float:
        return FROZEN

    def strftime(self, fmt: str, t=None) -> str:
        return time.strftime(fmt, time.gmtime(FROZEN) if t is None else t)

    def localtime(self, t=None):
        return time.gmtime(FROZEN if t is None else t)


def _clocked_modules():
    from xenbook_sample import aur, boot, bootstrap, packages, xl, xlguests
    return (aur, boot, bootstrap, packages, xl, xlguests)


def freeze_sample_clock() -> None:
    """Stop the clock of the sample host's simulated programs (build logs, install dates, xl's run times)."""
    for module in _clocked_modules():
        module.time = _FrozenTime()


@contextlib.contextmanager
def frozen_sample_clock():
    """freeze_sample_clock() for the duration of a with block."""
    modules = _clocked_modules()
    saved = [m.time for m in modules]
    freeze_sample_clock()
    try:
        yield
    finally:
        for m, t in zip(modules, saved):
            m.time = t


def sha(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


class KillSwitch:
    """Counts kill points in this process: kills it at point `at`, or keeps a checkpoint of root at every point."""

    def __init__(self, log_path: str, *, at: int | None = None, root: str | None = None, folder: str | None = None):
        self.at, self.root, self.folder = at, root, folder
        self.count = self.depth = 0
        self.applying = False
        self.log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def log(self, **record) -> None:
        os.write(self.log_fd, (json.dumps(record, sort_keys=True) + "\n").encode())

    def point(self, label: str, on_hit=None) -> None:
        """One kill point; on_hit runs just before the kill (to leave a half-done copy behind)."""
        if self.depth:
            return
        self.count += 1
        if self.folder is not None:
            self._checkpoint(label, on_hit)
        elif self.at == self.count:
            self.log(killed=self.count, label=label)
            if on_hit:
                on_hit()
            os.kill(os.getpid(), signal.SIGKILL)
        elif self.at is None:
            self.log(point=self.count, label=label)

    def _checkpoint(self, label: str, on_hit) -> None:
        if on_hit:
            on_hit()
        seen = fingerprint(self.root)
        if seen != getattr(self, "_seen", None):  # the tree changed since the last point: keep a copy
            self._seen, self._kept = seen, os.path.join(self.folder, str(self.count))
            self.depth += 1
            try:
                _REAL["copytree"](self.root, self._kept, symlinks=True, copy_function=copy_sparse)
            finally:
                self.depth -= 1
        self.log(point=self.count, label=label, checkpoint=self._kept)


def fingerprint(root: str) -> list[tuple]:
    """Every entry's name, mode, size, inode and change times: a write, rename or append changes it (the runner
    and the sample replace files by rename and only ever append in place)."""
    out = []
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            st = os.lstat(os.path.join(folder, name))
            out.append((folder, name, st.st_mode, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns))
    return out


def install(switch: KillSwitch) -> None:
    """Wrap os, shutil, the sample host's commands and the runner so that every kill point reaches the switch."""
    from xenbook.engine import runner
    from xenbook_sample.host import SampleHost

    def replace(src, dst, *a, **kw):
        switch.point(f"before the rename to {dst}")
        _REAL["replace"](src, dst, *a, **kw)
        switch.point(f"after the rename to {dst}, before the directory fsync")

    def fsync(fd):
        switch.point("at an fsync")  # a kill cannot tell before it from after it (see the module's docstring)
        _REAL["fsync"](fd)

    def copy2(src, dst, *a, **kw):
        def half():
            with open(src, "rb") as f:
                data = f.read()
            with open(dst, "wb") as f:
                f.write(data[:len(data) // 2])
        switch.point(f"before the backup copy of {src}")
        switch.point(f"in the middle of the backup copy of {src}", on_hit=half)
        out = _REAL["copy2"](src, dst, *a, **kw)
        switch.point(f"after the backup copy of {src}")
        return out

    os.replace, os.fsync, shutil.copy2 = replace, fsync, copy2

    real_run = SampleHost.run

    def run(self, command, **kw):
        applying = switch.depth == 0 and switch.applying
        if applying:
            switch.point(f"before the command {command.display()[:60]}")
        switch.depth += 1
        try:
            return real_run(self, command, **kw)
        finally:
            switch.depth -= 1
            if applying:
                switch.point(f"after the command {command.display()[:60]}")

    SampleHost.run = run
    real_apply, real_one = runner.Runner._apply, runner.Runner._one
    real_write, real_backup = runner.Runner._write, runner.Runner._backup

    def apply(self, step, plan, result):
        switch.applying = True
        try:
            return real_apply(self, step, plan, result)
        finally:
            switch.applying = False

    def one(self, step, triggered, blocked):
        switch.point(f"before the step {step.section}/{step.name}")
        return real_one(self, step, triggered, blocked)

    def write(self, action, result):
        info = self.host.stat(action.path)
        # where the bytes live in the sample's tree: a file in a guest's mounted disk stays there after umount
        real = os.path.relpath(self.host.real(action.path), self.host.root)
        switch.log(write=action.path, real=real, old=sha(action.old), new=sha(action.new), run=self.run_id,
                   old_mode=info.mode if info else None)
        return real_write(self, action, result)

    def backup(self, path):
        info = self.host.stat(path)
        real = os.path.relpath(self.host.real(path), self.host.root)
        switch.log(backup=path, real=real, old=sha(self.host.read_bytes(path)), run=self.run_id,
                   old_mode=info.mode if info else None)
        return real_backup(self, path)

    runner.Runner._apply, runner.Runner._one = apply, one
    runner.Runner._write, runner.Runner._backup = write, backup


@dataclass
class Crash:
    """One kill point: its number and label, the records the runner logged before it, and (for checkpoints) the
    copy of the host tree it left."""

    point: int
    label: str
    records: list[dict]
    tree: str | None = None

    @property
    def writes(self) -> list[dict]:
        return [r for r in self.records if "write" in r]

    @property
    def backups(self) -> list[dict]:
        return [r for r in self.records if "backup" in r]


@dataclass
class ChildRun:
    """How a child ended (killed or finished) and what it logged."""

    killed: bool
    status: int
    log: list[dict] = field(default_factory=list)

    @property
    def error(self) -> str:
        return next((r["error"] for r in self.log if "error" in r), "")

    def crashes(self) -> list[Crash]:
        out = []
        for i, r in enumerate(self.log):
            if "point" in r or "killed" in r:
                out.append(Crash(r.get("point") or r["killed"], r["label"], self.log[:i], r.get("checkpoint")))
        return out


def _child(work, log_path: str, hooks=None, **switch_args) -> ChildRun:
    if os.path.exists(log_path):
        os.unlink(log_path)
    pid = os.fork()
    if pid == 0:  # the child never returns into the caller
        code = 0
        try:
            freeze_sample_clock()
            (hooks or install)(KillSwitch(log_path, **switch_args))
            work()
        except BaseException:
            KillSwitch(log_path).log(error=traceback.format_exc())
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    with open(log_path) as f:
        log = [json.loads(line) for line in f if line.strip()]
    return ChildRun(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status, log)


def count_points(work, log_path: str, hooks=None) -> ChildRun:
    """Run work in a child without killing it; its log lists every kill point passed (hooks: install, or another
    way to choose the points, such as events.install)."""
    return _child(work, log_path, hooks)


def kill_at(work, n: int, log_path: str, hooks=None) -> ChildRun:
    """Run work in a child that is SIGKILLed at its nth kill point."""
    return _child(work, log_path, hooks, at=n)


def checkpoints(work, root: str, folder: str, log_path: str, hooks=None) -> ChildRun:
    """Run work in a child that, at every kill point, has a fork of itself SIGKILLed there and copies root's tree
    (as that crash left it) to folder/N."""
    os.makedirs(folder, exist_ok=True)
    return _child(work, log_path, hooks, root=root, folder=folder)
