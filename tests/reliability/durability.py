"""The fsync orderings the README promises, checked on the syscall trace (strace -f) of an apply.

A power loss keeps only what was fsynced, so what must hold is an order of system calls, which a SIGKILL cannot see
(the crash tier keeps everything in the page cache). From the trace of a run on a host rooted at ROOT:

  candidate   every rename of a temporary candidate (.NAME.XXXXXXXX.xenbook-new, or the SSH scripts'
              .NAME.xenbook-XXXXXX) comes after an fsync of the candidate's bytes (by any process: the SSH scripts
              fsync with sync(1)), and its directory is fsynced after the rename, before the next ledger record and
              before the trace ends;
  backup      every ledger record that names a backup (an end record's writes[].before) comes after an fsync of the
              backup file after its last write, and an fsync of the backup's directory after the file was created;
  ledger      every ledger record is fsynced before the next record starts, before any rename, and before the
              trace ends (a start record is durable before its step changes anything).

Descriptors are mapped to paths per process from the results of open and openat, until close, followed through
dup and fcntl(F_DUPFD) and inherited by the children of clone and fork (sh opens a `>>` target and hands it to cat)."""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass

from xenbook.engine.ledger import LEDGER

SYSCALLS = ("openat", "open", "write", "fsync", "fdatasync", "rename", "renameat", "renameat2",
            "close", "dup", "dup2", "dup3", "fcntl", "clone", "clone3", "fork", "vfork")
CANDIDATE = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.xenbook-new|\..+\.xenbook-[A-Za-z0-9]{6}")
_LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|\?)")
_RESUMED = re.compile(r"^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$")
_UNFINISHED = re.compile(r"^(\d+)\s+(.*) <unfinished \.\.\.>$")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_WRITING = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC")


def strace() -> str | None:
    """The strace program, or None when it is not installed."""
    return shutil.which("strace")


def traced(argv: list[str], trace: str, *, env: dict | None = None, cwd: str | None = None,
           timeout: float = 600) -> subprocess.CompletedProcess:
    """Run argv under strace -f, writing the trace of SYSCALLS to the file trace."""
    command = [strace() or "strace", "-f", "-qq", "-e", "trace=" + ",".join(SYSCALLS), "-o", trace, "--", *argv]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@dataclass
class Call:
    index: int
    pid: int
    name: str
    args: str
    ret: int

    def strings(self) -> list[str]:
        """The quoted arguments (paths), unescaped as strace escapes them."""
        return [_unescape(s) for s in _STRING.findall(self.args)]

    def fd(self) -> int:
        return int(self.args.split(",", 1)[0].strip())


def _unescape(text: str) -> str:
    raw = codecs.decode(text.encode("latin-1", "backslashreplace"), "unicode_escape")
    return raw.encode("latin-1").decode("utf-8", "surrogateescape")


def parse(trace: str) -> list[Call]:
    """The completed calls of a strace -f output file, in order, with unfinished calls joined to their ends."""
    calls: list[Call] = []
    pending: dict[int, str] = {}
    with open(trace, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            unfinished = _UNFINISHED.match(line)
            if unfinished:
                pending[int(unfinished[1])] = unfinished[2]
                continue
            resumed = _RESUMED.match(line)
            if resumed:
                if int(resumed[1]) not in pending:
                    continue
                line = f"{resumed[1]} {pending.pop(int(resumed[1]))}{resumed[3]}"
            match = _LINE.match(line)
            if match and match[4] != "?":
                calls.append(Call(len(calls), int(match[1]), match[2], match[3], int(match[4])))
    return calls


def ledger_path(root: str) -> str:
    """The ledger of the host rooted at root, on this machine."""
    return os.path.join(os.path.realpath(root), LEDGER.lstrip("/"))


def check(trace: str, root: str, appended: bytes, *, seen: Counter | None = None,
          ledger: str | None = None) -> list[str]:
    """Every broken promise in the trace of a run on the host at root that appended appended to its ledger (root's,
    unless given); seen counts what was checked: candidate renames, ledger records, backups named."""
    root = os.path.realpath(root)
    ledger = ledger or ledger_path(root)
    checker = Checker(root, ledger, appended)
    problems = checker.run(parse(trace))
    if seen is not None:
        seen.update(checker.seen)
    return problems


class Checker:
    """Walks the calls in order, keeping what each path's last fsync covers."""

    def __init__(self, root: str, ledger: str, appended: bytes):
        self.root, self.ledger, self.appended = root, ledger, appended
        self.fds: dict[int, dict[int, str]] = {}
        self.durable: dict[str, bool] = {}  # path -> no write since its last fsync
        self.created: dict[str, int] = {}  # path -> the call that last opened it with O_CREAT
        self.dir_synced: dict[str, int] = {}  # directory -> the call of its last fsync
        self.renamed: dict[str, str] = {}  # directory -> the rename in it that awaits its fsync
        self.offset = 0  # bytes of the appended ledger text its traced writes account for
        self.unsynced = ""  # the ledger record written and not yet fsynced
        self.problems: list[str] = []
        self.seen: Counter = Counter()

    def run(self, calls: list[Call]) -> list[str]:
        for call in calls:
            if call.ret >= 0:
                getattr(self, "_" + call.name, lambda c: None)(call)
        self._settle("the end of the run")
        if self.unsynced:
            self.problems.append(f"ledger record {self.unsynced} was never fsynced")
        if self.offset != len(self.appended):
            self.problems.append(f"the trace shows {self.offset} bytes written to the ledger, the ledger grew by "
                                 f"{len(self.appended)}")
        return self.problems

    def _path(self, call: Call) -> str:
        return self.fds.get(call.pid, {}).get(call.fd(), "")

    def _opened(self, call: Call, path: str) -> None:
        path = os.path.normpath(path)
        self.fds.setdefault(call.pid, {})[call.ret] = path
        if any(flag in call.args for flag in _WRITING):
            self.durable[path] = False
        if "O_CREAT" in call.args:
            self.created[path] = call.index

    def _openat(self, call: Call) -> None:
        path = call.strings()[0]
        if path.startswith("/"):  # relative names are not the runner's: it opens absolute paths only
            self._opened(call, path)

    _open = _openat

    def _close(self, call: Call) -> None:
        self.fds.get(call.pid, {}).pop(call.fd(), None)

    def _dup(self, call: Call) -> None:
        if call.name != "fcntl" or "F_DUPFD" in call.args:
            table = self.fds.setdefault(call.pid, {})
            path = self._path(call)
            if path:
                table[call.ret] = path
            else:  # a pipe or a socket: nothing of ours
                table.pop(call.ret, None)

    _dup2 = _dup3 = _fcntl = _dup

    def _clone(self, call: Call) -> None:
        # the child may have run before its parent's call returned: what it opened itself stays
        self.fds[call.ret] = {**self.fds.get(call.pid, {}), **self.fds.get(call.ret, {})}

    _clone3 = _fork = _vfork = _clone

    def _fsync(self, call: Call) -> None:
        path = self._path(call)
        if not path:
            return
        self.durable[path] = True
        self.dir_synced[path] = call.index
        self.renamed.pop(path, None)
        if path == self.ledger:
            self.unsynced = ""

    _fdatasync = _fsync

    def _write(self, call: Call) -> None:
        path = self._path(call)
        if not path:
            return
        self.durable[path] = False
        if path != self.ledger:
            return
        start = self.offset
        self.offset += call.ret
        if start == 0 or self.appended[start - 1:start] == b"\n":  # this write begins a record
            if self.unsynced:
                self.problems.append(f"ledger record {self.unsynced} was not fsynced before the next one")
            self._settle(f"the ledger record written by call {call.index}")
        ends = [i for i in range(start, self.offset) if self.appended[i:i + 1] == b"\n"]
        first = self.appended.rfind(b"\n", 0, start) + 1
        for end in ends:
            line, first = self.appended[first:end], end + 1
            self.seen["ledger records"] += 1
            self._record(line, call)
        if ends:
            number = self.appended[:ends[-1]].count(b"\n") + 1
            self.unsynced = f"#{number} of this run (call {call.index})"

    def _record(self, line: bytes, call: Call) -> None:
        """A whole ledger record is on its way to the ledger: the backups it names must be durable already."""
        try:
            record = json.loads(line)
        except ValueError:
            self.problems.append(f"call {call.index} wrote a ledger line that is not JSON")
            return
        for write in record.get("writes") or ():
            if write.get("before"):
                self._backup(os.path.join(self.root, write["before"].lstrip("/")), record, call)

    def _backup(self, path: str, record: dict, call: Call) -> None:
        self.seen["backups named"] += 1
        where = f"ledger {record['kind']} record of {record.get('step')} (call {call.index}) names backup {path}"
        if path not in self.created:
            self.problems.append(f"{where}, which this run never created")
            return
        if not self.durable.get(path):
            self.problems.append(f"{where} before an fsync of its bytes")
        folder = os.path.dirname(path)
        if self.dir_synced.get(folder, -1) < self.created[path]:
            self.problems.append(f"{where} before an fsync of {folder} after it was created")

    def _rename(self, call: Call) -> None:
        src, dst = (os.path.normpath(p) for p in call.strings()[:2])
        if self.unsynced:
            self.problems.append(f"ledger record {self.unsynced} was not fsynced before the rename of call "
                                 f"{call.index}")
        if not CANDIDATE.fullmatch(os.path.basename(src)):
            return
        self.seen["candidate renames"] += 1
        if not self.durable.get(src):
            self.problems.append(f"candidate {src} was renamed onto {dst} (call {call.index}) before an fsync of "
                                 "its bytes")
        self.durable[dst] = bool(self.durable.pop(src, False))
        self.renamed[os.path.dirname(dst)] = f"{dst} (call {call.index})"

    _renameat = _renameat2 = _rename

    def _settle(self, moment: str) -> None:
        """Renames whose directory no fsync followed by moment."""
        for folder, what in sorted(self.renamed.items()):
            self.problems.append(f"the rename onto {what} was not followed by an fsync of {folder} before {moment}")
        self.renamed.clear()
