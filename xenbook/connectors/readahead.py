"""Read-ahead for a remote plan: the file reads, stats, listings and commands the last plan of the same sections on
a target made, asked for in one batch when the next such plan begins, so that a plan costs a few round trips instead
of one per read.

Only a dry run reads ahead. It changes nothing (its commands are reads too: "a dry run reads for real and skips only
writes"), so what the batch found at its start is what each read would find, the promise the host's fact cache
makes already. An apply reads every file and runs every command when it needs it. What is remembered is the
requests (paths, and the argv of commands without stdin), never the answers. It lives in the user's cache folder,
one file per target and sections, rewritten after each plan with exactly what that plan asked. Since its commands
run on the host, it is trusted as ssh trusts ~/.ssh/config: only a file of the user's own in a folder of the user's
own, neither writable by others, is read. A missing, foreign or broken memory only costs speed."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import threading
from pathlib import Path

FILE_OPS = ("read", "stat", "list")
LIMIT = 5000  # requests remembered per target at most


def memory_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "xenbook" / "read-ahead"


def _key(op: dict) -> str:
    return json.dumps(op, sort_keys=True)


def _valid(op) -> bool:
    if isinstance(op, dict) and op.get("op") == "run" and set(op) == {"op", "argv", "timeout"}:
        argv, timeout = op["argv"], op["timeout"]
        return (isinstance(argv, list) and bool(argv) and all(isinstance(a, str) and "\0" not in a for a in argv)
                and (timeout is None or (type(timeout) in (int, float) and 0 < timeout < 1e9)))
    return (isinstance(op, dict) and set(op) == {"op", "path"} and op["op"] in FILE_OPS
            and isinstance(op["path"], str) and op["path"].startswith("/") and "\0" not in op["path"])


def _own(path: Path) -> bool:
    """The user's own, and writable by nobody else (the file and its folder)."""
    try:
        infos = [os.lstat(path), os.lstat(path.parent)]
    except OSError:
        return False
    return all(i.st_uid == os.getuid() and not i.st_mode & 0o022 for i in infos) and stat.S_ISREG(infos[0].st_mode)


class ReadAhead:
    """One target's read-ahead: what to ask for at the start of a plan, and the answers it got."""

    def __init__(self, target: str, folder: Path | None = None):
        self.target, self.folder = target, folder
        self.file = self._file("")
        self.active = False  # a dry run is under way
        self.snapshot: dict[str, tuple[dict, bytes]] | None = None
        self.used: dict[str, dict] = {}
        self.hits = 0
        self.depth = 0  # runs begun and not ended
        self.owner = 0  # the thread that began them

    def _file(self, scope: str) -> Path:
        name = hashlib.sha256(f"{self.target}\0{scope}".encode()).hexdigest()[:24]
        return (self.folder or memory_dir()) / f"{name}.json"

    def start(self, dry_run: bool, scope: str = "") -> None:
        """A run begins; scope (the sections planned) picks the memory. A run begun inside another one (the runner's
        inside run_sections') is part of it. Only the thread that began the run reads ahead: another one's requests
        (an apply, a dashboard's refresh) go to the host as they come, and a run it begins gets no batch."""
        if self.depth and self.owner != threading.get_ident():
            return
        self.depth += 1
        if self.depth == 1:
            self.owner = threading.get_ident()
            self.active, self.snapshot, self.used, self.file = dry_run, None, {}, self._file(scope)

    def _mine(self) -> bool:
        return self.active and self.owner == threading.get_ident()

    def wanted(self) -> list[dict]:
        """The requests to batch now: those the last plan made, when a plan has begun and has no answers yet."""
        if not self._mine() or self.snapshot is not None:
            return []
        self.snapshot = {}
        if not _own(self.file):
            return []
        try:
            ops = json.loads(self.file.read_text())
        except (OSError, ValueError):
            return []
        return [op for op in ops if _valid(op)][:LIMIT] if isinstance(ops, list) else []

    def fill(self, ops: list[dict], replies: list[dict], blob: bytes) -> None:
        at = 0
        for op, reply in zip(ops, replies):
            size = int(reply.get("size", 0))
            self.snapshot[_key(op)] = (reply, blob[at:at + size])
            at += size

    def take(self, op: dict) -> tuple[dict, bytes] | None:
        """The batch's answer to op, if it has one; a dry run notes op for the next plan either way."""
        if not self._mine():
            return None
        key = _key(op)
        self.used[key] = op
        found = (self.snapshot or {}).get(key)
        self.hits += found is not None
        return found

    def keep(self, op: dict, answer: tuple[dict, bytes]) -> None:
        """A plan's answer got on its own: the same request later in the plan gets it too (nothing changes)."""
        if self._mine() and self.snapshot is not None:
            self.snapshot[_key(op)] = answer

    def end(self) -> None:
        """A run ends: the outermost one of a plan remembers what the plan read, for the next one."""
        if not self.depth or self.owner != threading.get_ident():
            return
        self.depth -= 1
        if self.depth == 0 and self.active:
            self._save()

    def _save(self) -> None:
        self.active, self.snapshot = False, None
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".read-ahead-")
        except OSError:
            return
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(list(self.used.values())[:LIMIT], f)
            os.replace(tmp, self.file)
        except OSError:
            os.unlink(tmp)
