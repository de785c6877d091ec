"""Kill points chosen by event: before the Nth write, rename or command of a run, wherever it happens.

faults.install() stops at the runner's own moments and leaves the sample host's simulated programs alone. These
hooks count every write (write_atomic, append, create_exclusive, copy_file), every rename (os.replace, os.rename)
and every command (the sample host's run), in the runner and inside the simulated programs alike (pacman writing a
package's files and its database entry, git clone, umount), and stop before each of them: N runs over the whole
range of a run's events. The runner's writes and backups are logged as faults.install() logs them, so the same
checks (faults.Crash, crashes.damage) read them."""

from __future__ import annotations

import os

from . import faults

WRITES = ("write_atomic", "append", "create_exclusive", "copy_file")


def install(switch: faults.KillSwitch) -> None:
    """Wrap the file operations of every rooted host, os.replace and os.rename, and the sample host's run, so that
    each event reaches the switch just before it happens."""
    from xenbook.connectors.rooted import RootedHost
    from xenbook.engine import runner
    from xenbook_sample.host import SampleHost

    def before(kind: str, what: str) -> None:
        switch.point(f"before the {kind} {what}")

    def shown(real: str) -> str:
        """A local path as the host sees it, when it lies in the checkpointed tree."""
        inside = switch.root and os.path.abspath(real).startswith(switch.root.rstrip("/") + "/")
        return "/" + os.path.relpath(real, switch.root) if inside else os.path.basename(real)

    def wrap_write(name: str) -> None:
        real = getattr(RootedHost, name)

        def write(self, path, *a, **kw):
            before("write", f"({name}) of {path}")
            return real(self, path, *a, **kw)
        setattr(RootedHost, name, write)

    for name in WRITES:
        wrap_write(name)

    def renamer(real):
        def rename(src, dst, *a, **kw):
            before("rename", f"to {shown(dst)}")
            return real(src, dst, *a, **kw)
        return rename

    os.replace, os.rename = renamer(os.replace), renamer(os.rename)
    real_run = SampleHost.run

    def run(self, command, **kw):
        before("command", command.display()[:60])
        return real_run(self, command, **kw)

    SampleHost.run = run
    real_write, real_backup = runner.Runner._write, runner.Runner._backup

    def log_write(self, action, result):
        info = self.host.stat(action.path)
        real = os.path.relpath(self.host.real(action.path), self.host.root)
        switch.log(write=action.path, real=real, old=faults.sha(action.old), new=faults.sha(action.new),
                   run=self.run_id, old_mode=info.mode if info else None)
        return real_write(self, action, result)

    def log_backup(self, path):
        info = self.host.stat(path)
        real = os.path.relpath(self.host.real(path), self.host.root)
        switch.log(backup=path, real=real, old=faults.sha(self.host.read_bytes(path)), run=self.run_id,
                   old_mode=info.mode if info else None)
        return real_backup(self, path)

    runner.Runner._write, runner.Runner._backup = log_write, log_backup
