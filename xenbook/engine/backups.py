"""The backups applies leave on a target, one folder per run under /var/lib/xenbook/backups/<run>/, and their pruning.

A run's folder holds the old bytes of every file that run replaced; the ledger's end records name those copies
(writes' "before") and the host report rebuilds diffs from them. Pruning keeps the newest `keep` folders (a run id
starts with its UTC start time, so the names sort by age) and the folder of the run that prunes, and removes the
others whole. It records what it is about to remove in the ledger first (a "pruned" record), so that the host report
can say why a diff of an older run can no longer be rebuilt. Only folders named like run ids are ever touched."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xenbook.core.errors import ParameterError
from xenbook.core.host import Host
from xenbook.core.paths import BACKUP_DIR
from xenbook.engine import ledger, lock

DEFAULT_KEEP = 10  # the runs whose backups an apply keeps, unless keep_backups says otherwise
RUN_FOLDER = re.compile(r"\d{8}T\d{6}Z(-[0-9a-f]{1,32})?")  # runner.run_id(): time, then a random suffix


@dataclass
class Pruning:
    """What pruning with keep does on one host: the run folders it keeps and those it removes, oldest first."""

    keep: int
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # entries not named like a run's folder: left alone

    def summary(self, applied: bool) -> str:
        done = "removed" if applied else "would remove"
        text = (f"{done} {len(self.removed)} backup folder(s) under {BACKUP_DIR}, keeping the newest "
                f"{len(self.kept)} (keep {self.keep})")
        if self.foreign:
            text += f"; left alone, not named like a run's folder: {', '.join(self.foreign)}"
        return text


def check_keep(keep: int) -> int:
    """keep, or ParameterError: at least 1, so that the newest run's backups always stay."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ParameterError([("keep", keep, "must be a whole number of runs, 1 or more (the newest run's backups "
                                             "always stay); set keep_backups to null to never prune")])
    return keep


def plan_pruning(host: Host, keep: int, current: str = "") -> Pruning:
    """Which run folders pruning with keep removes (read only); current, the pruning run, is always kept."""
    keep = check_keep(keep)
    names = host.listdir(BACKUP_DIR) or []
    runs = sorted(n for n in names if RUN_FOLDER.fullmatch(n) and _is_dir(host, f"{BACKUP_DIR}/{n}"))
    plan = Pruning(keep, foreign=[n for n in names if n not in runs])
    newest = set(runs[-keep:]) | {current}
    for name in runs:
        (plan.kept if name in newest else plan.removed).append(f"{BACKUP_DIR}/{name}")
    return plan


def prune(host: Host, keep: int, run_id: str, *, record=None) -> Pruning:
    """Remove the run folders beyond the newest keep, after recording them in the ledger; the caller holds the
    target's lock. record(kind, **fields) appends the record (a Journal's, inside an apply)."""
    plan = plan_pruning(host, keep, run_id)
    if plan.removed:
        fields = {"keep": plan.keep, "removed": plan.removed, "kept": len(plan.kept)}
        if record is None:
            ledger.append_record(host, "pruned", run_id, **fields)
        else:
            record("pruned", **fields)
        for folder in plan.removed:
            host.remove_tree(folder)
    return plan


def prune_locked(host: Host, keep: int, run_id: str, *, wait: float = 0.0) -> Pruning:
    """`xenbook prune --apply`: prune under the target's lock, as an apply would."""
    owns = lock.acquire(host, run_id, wait=wait)
    try:
        return prune(host, keep, run_id)
    finally:
        if owns:
            lock.release(host, run_id)


def run_folder(backup: str) -> str:
    """The run folder a backup's path lies in, or "" when it lies outside the backups."""
    head, sep, rest = backup.partition(BACKUP_DIR + "/")
    return f"{BACKUP_DIR}/{rest.split('/')[0]}" if sep and not head and rest else ""


def pruned_backups(records: list[dict]) -> dict[str, str]:
    """Backup folder -> the run that pruned it, from the ledger's "pruned" records."""
    return {folder: r["run"] for r in records if r["kind"] == "pruned" for folder in r.get("removed", [])}


def _is_dir(host: Host, path: str) -> bool:
    info = host.stat(path)
    return info is not None and info.kind == "dir"
