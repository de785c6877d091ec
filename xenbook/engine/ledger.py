"""What xenbook changed on a host: an append-only JSON-lines ledger on the target, written around every change.

One JSON object a line (keys sorted), each with "v" (1), "kind", "run" (the run id) and "time" (UTC, milliseconds):

  run-begin    pid, host (the machine xenbook runs on), target, xenbook (its version)
  start        id, section, step, diffs [{path, sha256}], commands        before a step changes anything
  end          id, section, step, status, reason, seconds, writes [{path, created, before, after, diff}]
               (before: the backup holding the old bytes, or null; after and diff: sha256 of the new bytes and
               of the diff; regenerable: true for a file replaced without a backup, such as a dashboard snapshot)
  interrupted  of (the start's id), of_run, section, step, started         a start that no end ever followed
  run-end      status (finished, reboot, failed, or "stopped: ERROR"), counts {status: n},
               steps {section: {step: status}}
  unlocked     of_run, pid, host                                          `xenbook unlock` removed a dead run's lock
  pruned       keep, kept, removed [backup folders]                       written before those folders are removed

Only runs that change something append (a converged run appends nothing) and dry runs never do. Diffs are stored
as digests only, never as text: they may hold secrets. A start without its end is the truth about a process that
died (papermill marks every cell completed when its kernel is killed); the next run reports it as interrupted."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import socket
import time
from typing import TYPE_CHECKING

from xenbook import __version__
from xenbook.core.errors import XenbookError
from xenbook.core.host import Host
from xenbook.core.paths import STATE_DIR
from xenbook.engine import lock
from xenbook.safety.redact import mask_shapes

if TYPE_CHECKING:
    from xenbook.core.actions import RemoveFile, WriteFile
    from xenbook.engine.results import Report, StepResult
    from xenbook.core.step import Step

LEDGER = f"{STATE_DIR}/ledger.jsonl"
RUN_ENV = "XENBOOK_RUN_ID"  # set by `xenbook run` for its notebooks' kernels: they share its run id and lock
PLANNED_ENV = "XENBOOK_PLANNED"  # set by a dry `xenbook run`: what the earlier notebooks would install (JSON)
_SEQUENCE = itertools.count(1)  # start ids are RUN/PID/N, unique even for several runners in one process


def now() -> str:
    """The current UTC time as ISO 8601 with milliseconds."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def digest(data: bytes | str) -> str:
    """sha256 of data (text as UTF-8), hex."""
    return hashlib.sha256(data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data).hexdigest()


def version() -> str:
    """The running xenbook's version, as its records name it."""
    return __version__


def append_record(host: Host, kind: str, run: str, /, **fields) -> dict:
    """Append one record to host's ledger (creating its folder and the file, mode 0600) and return it."""
    record = {"v": 1, "kind": kind, "run": run, "time": now(), **fields}
    line = (json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n").encode()
    host.makedirs(STATE_DIR, 0o755)
    host.append(LEDGER, line, mode=0o600)
    return record


# The fields each kind of record must have, and their types, for the readers of the ledger to use it
_FIELDS: dict[str, dict[str, type]] = {
    "start": {"id": str, "section": str, "step": str},
    "end": {"id": str, "section": str, "step": str, "status": str, "reason": str, "writes": list},
    "interrupted": {"section": str, "step": str},
    "run-end": {"status": str, "counts": dict, "steps": dict},
}
_WRITE_FIELDS = {"path": str, "after": str, "diff": str}


def malformed(record: object) -> str | None:
    """What is wrong with one ledger record, or None when it is whole."""
    if not isinstance(record, dict):
        return "is not a JSON object"
    fields = {"kind": str, "run": str, "time": str} | _FIELDS.get(record.get("kind"), {})  # type: ignore[arg-type]
    wrong = [k for k, kind in fields.items() if not isinstance(record.get(k), kind)]
    if record.get("kind") == "end" and not wrong:
        wrong = [f"writes[{i}]" for i, w in enumerate(record["writes"])
                 if not isinstance(w, dict) or any(not isinstance(w.get(k), t) for k, t in _WRITE_FIELDS.items())]
    if record.get("kind") == "run-end" and not wrong:
        wrong = [f"steps.{k}" for k, v in record["steps"].items() if not isinstance(v, dict)]
        wrong += [f"counts.{k}" for k, v in record["counts"].items() if not isinstance(v, int)]
    return f"lacks or mistypes {', '.join(wrong)}" if wrong else None


def read_ledger(host: Host) -> tuple[list[dict], list[str]]:
    """Every whole record in host's ledger, oldest first, and what was skipped: one line per malformed record (a
    line torn by a crash, or one edited by hand), naming its line number and what is wrong."""
    records, skipped = [], []
    for n, line in enumerate((host.read_bytes(LEDGER) or b"").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            skipped.append(f"{LEDGER} line {n} is not JSON (torn by a crash, or edited): skipped")
            continue
        problem = malformed(record)
        if problem:
            skipped.append(f"{LEDGER} line {n} {problem}: skipped")
        else:
            records.append(record)
    return records, skipped


def read_records(host: Host) -> list[dict]:
    """Every whole record in host's ledger, oldest first; malformed ones are left out (read_ledger names them)."""
    return read_ledger(host)[0]


def unfinished(records: list[dict], running: str | None = None) -> list[dict]:
    """The start records that no end (nor an interrupted record) followed, except those of the run running."""
    closed = {r.get("id") for r in records if r["kind"] == "end"}
    closed |= {r.get("of") for r in records if r["kind"] == "interrupted"}
    return [r for r in records if r["kind"] == "start" and r.get("id") not in closed and r.get("run") != running]


class Journal:
    """One run's records in its target's ledger, and, when it applies, its hold on the target's lock."""

    def __init__(self, host: Host, run_id: str, *, dry_run: bool, wait: float = 0.0):
        self.host, self.run_id, self.dry_run, self.wait = host, run_id, dry_run, wait
        self.begun = self.owns_lock = False
        self.current = ""
        self.started = 0.0
        self.writes: list[dict] = []

    def open(self, report: Report) -> None:
        """Take the lock (an apply) and put the steps an earlier run left unfinished into report.interrupted."""
        self.begun = False
        if not self.dry_run:
            self.owns_lock = lock.acquire(self.host, self.run_id, wait=self.wait)
        try:
            holder = lock.read_holder(self.host) if self.dry_run else None  # a dry run may watch one in progress
            running = (holder.run if holder else None) if self.dry_run else self.run_id
            records, skipped = read_ledger(self.host)
            report.ledger_skipped += [s for s in skipped if s not in report.ledger_skipped]
            self._acknowledge(unfinished(records, running), report)
        except BaseException:
            self.close(report)
            raise

    def died(self, report: Report) -> list[dict]:
        """The steps of this run that started and never ended (a notebook's kernel died in them), acknowledged."""
        if self.dry_run:
            return []
        return self._acknowledge([r for r in unfinished(read_records(self.host)) if r["run"] == self.run_id], report)

    def _acknowledge(self, found: list[dict], report: Report) -> list[dict]:
        """Add found start records to report.interrupted and, in an apply, record them as interrupted."""
        new = [{"run": r["run"], "section": r.get("section", ""), "step": r.get("step", ""), "started": r["time"]}
               for r in found]
        report.interrupted += [i for i in new if i not in report.interrupted]
        if not self.dry_run:
            for r in found:
                self._append("interrupted", of=r.get("id"), of_run=r["run"], section=r.get("section", ""),
                             step=r.get("step", ""), started=r["time"])
        return new

    def start(self, step: Step, result: StepResult) -> None:
        """Record that step is about to change the host, with digests of its planned diffs."""
        if self.dry_run:
            return
        self.current = f"{self.run_id}/{os.getpid()}/{next(_SEQUENCE)}"
        self.started, self.writes = time.monotonic(), []
        self._append("start", id=self.current, section=step.section, step=step.name,
                     diffs=[{"path": d["path"], "sha256": digest(d["diff"])} for d in result.diffs],
                     commands=[mask_shapes(c) for c in result.commands])

    def wrote(self, action: WriteFile | RemoveFile, backup: str | None) -> None:
        """Note one file the current step replaced: digests, and the backup that holds its old bytes."""
        self.writes.append({"path": action.path, "created": action.old is None, "before": backup,
                            "after": digest(action.new or b""), "diff": digest(action.diff()),
                            **({"removed": True} if action.new is None else {}),
                            **({"regenerable": True} if not getattr(action, "backup", True) else {})})

    def end(self, step: Step, result: StepResult) -> None:
        """Record how the current step ended."""
        if self.dry_run or not self.current:
            return
        self._append("end", id=self.current, section=step.section, step=step.name, status=result.status,
                     reason=mask_shapes(result.reason), seconds=round(time.monotonic() - self.started, 3),
                     writes=self.writes)
        self.current = ""

    def close(self, report: Report, error: BaseException | None = None) -> None:
        """Record the run's end (when it recorded anything) and release the lock it took."""
        try:
            if self.begun:
                status = (f"stopped: {type(error).__name__}" if error else "failed" if report.failed
                          else "reboot" if report.reboot_required else "finished")
                steps: dict[str, dict[str, str]] = {}
                for s in report.steps:
                    steps.setdefault(s.section, {})[s.name] = s.status
                counts = {k: report.count(k) for k in ("ok", "changed", "failed", "skipped") if report.count(k)}
                self._append("run-end", status=status, counts=counts, steps=steps)
        finally:
            if self.owns_lock:
                self.owns_lock = False
                lock.release(self.host, self.run_id)

    def record(self, kind: str, **fields) -> None:
        """Append one record of this run (pruning's, at the end of an apply)."""
        self._append(kind, **fields)

    def _append(self, kind: str, **fields) -> None:
        if not self.begun:
            self.begun = True
            append_record(self.host, "run-begin", self.run_id, pid=os.getpid(), host=socket.gethostname(),
                          target=self.host.target, xenbook=version())
        append_record(self.host, kind, self.run_id, **fields)


def unlock(host: Host, run: str) -> lock.Holder:
    """Remove host's lock when run holds it and is not alive here, and record that in the ledger."""
    holder = lock.read_holder(host)
    if holder is None:
        raise XenbookError(f"{host.target} has no lock at {lock.LOCK}; nothing to remove")
    if holder.run != run:
        raise XenbookError(f"{host.target}'s lock at {lock.LOCK} is held by run {holder.run} (pid {holder.pid} on "
                           f"{holder.host}), not by run {run}; nothing was removed")
    if holder.alive_here():
        raise lock.LockHeld(f"run {run} is alive: pid {holder.pid} still runs on {holder.host}; wait for it "
                            "(xenbook apply --wait SECONDS), or stop it first; nothing was removed")
    host.remove(lock.LOCK)
    append_record(host, "unlocked", run, of_run=run, pid=os.getpid(), host=socket.gethostname())
    return holder
