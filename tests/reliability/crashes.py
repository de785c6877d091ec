"""Crash scenarios and what a SIGKILLed run may leave: the checks that count as losses, and convergence."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from xenbook.connectors.targets import open_host
from xenbook.engine import ledger
from xenbook.engine import lock

from . import faults, samples, trees

BACKUPS = "/var/lib/xenbook/backups"


@dataclass(frozen=True)
class Scenario:
    """Apply sections with parameters to a copy of the sample host at pre."""

    name: str
    pre: str
    sections: tuple[str, ...]
    data: dict = field(default_factory=dict)

    def apply(self, root: str):
        return samples.apply(root, self.data, list(self.sections))


@dataclass
class Reference:
    """What an uninterrupted run of a scenario leaves: the host state, the reboot it asks for, failed steps."""

    state: dict
    reboot: str
    failed: list[str]


def reference(scenario: Scenario, root: str) -> Reference:
    samples.copy_host(scenario.pre, root)
    report = scenario.apply(root)
    return Reference(trees.host_state(root), report.reboot_required, [s.name for s in report.failed])


def _file(root: str, path: str) -> tuple[bytes | None, int | None]:
    real = os.path.join(root, path.lstrip("/"))
    try:
        with open(real, "rb") as f:
            return f.read(), os.stat(real).st_mode & 0o7777
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None, None


def damage(root: str, crash: faults.Crash) -> list[str]:
    """Losses in the tree a crash left: a file the runner was writing that holds neither its old nor its new
    content (partial, empty), or a replaced file without a complete backup keeping its old mode."""
    problems = []
    allowed: dict[str, set] = {}
    first: dict[str, dict] = {}
    for w in crash.writes:
        allowed.setdefault(w["real"], set()).update({w["old"], w["new"]})
    for r in crash.records:  # the first record of a file in a run holds what its backup must hold
        if "write" in r or "backup" in r:
            first.setdefault(r["real"], r)
    for real, shas in allowed.items():
        data, _ = _file(root, real)
        if faults.sha(data) not in shas:
            problems.append(f"/{real} holds {len(data or b'')} bytes: neither its old nor its new content")
    for real, record in first.items():
        path = record.get("write") or record["backup"]
        if record["old"] is None:
            continue
        data, mode = _file(root, real)
        if faults.sha(data) == record["old"] and mode == record["old_mode"]:
            continue  # not replaced
        copy, copy_mode = _file(root, f"{BACKUPS}/{record['run']}{path}")
        if copy is None:
            problems.append(f"{path} was replaced, and {BACKUPS}/{record['run']}{path} does not exist")
        elif faults.sha(copy) != record["old"]:
            problems.append(f"{path} was replaced, and its backup does not hold the old content")
        elif copy_mode != record["old_mode"]:
            problems.append(f"the backup of {path} has mode {copy_mode:04o}, the file had {record['old_mode']:04o}")
    return problems


def recover(scenario: Scenario, root: str, ref: Reference) -> list[str]:
    """Run the scenario again on the tree a crash left, the documented way, and say where it does not converge.

    The dead run still holds the lock: a run fails naming it, `xenbook unlock` (ledger.unlock) removes it, and the
    next run must report the step the crash interrupted and reach the reference's state exactly."""
    problems = []
    with open_host(f"sample:{root}") as host:
        holder = lock.read_holder(host)
        unfinished = ledger.unfinished(ledger.read_records(host))
    if holder is not None:
        try:
            scenario.apply(root)
            problems.append("a run went ahead while a dead run's lock was in place")
        except lock.LockHeld as e:
            if f"pid {holder.pid}" not in str(e) or "xenbook unlock" not in str(e):
                problems.append(f"the lock error does not name the dead holder and the way out: {e}")
        with open_host(f"sample:{root}") as host:
            ledger.unlock(host, holder.run)
    report = scenario.apply(root)
    failed = [s.name for s in report.failed]
    if failed != ref.failed:
        problems.append("the next run failed: " + "; ".join(f"{s.name}: {s.reason[:300]}" for s in report.failed))
    if report.reboot_required != ref.reboot:
        problems.append(f"the next run asks for reboot {report.reboot_required!r}, not {ref.reboot!r}")
    said = {(i["section"], i["step"]) for i in report.interrupted}
    for record in unfinished:
        if (record.get("section"), record.get("step")) not in said:
            problems.append(f"the next run did not report {record.get('section')}/{record.get('step')} as interrupted")
    got = trees.host_state(root)
    if got != ref.state:
        problems.append("the next run did not converge to the uninterrupted run's tree:\n"
                        + trees.differences(got, ref.state))
    return problems


@dataclass
class Finding:
    scenario: str
    point: int
    label: str
    problems: list[str]

    def __str__(self) -> str:
        return f"{self.scenario}, kill point {self.point} ({self.label}):\n    " + "\n    ".join(self.problems)


@dataclass
class Campaign:
    """What killing every point of some scenarios found."""

    points: dict[str, int] = field(default_factory=dict)  # scenario -> kill points tried
    distinct: dict[str, int] = field(default_factory=dict)  # scenario -> distinct trees those kills left
    states: dict[tuple[str, int], str] = field(default_factory=dict)  # (scenario, point) -> host state digest
    labels: list[str] = field(default_factory=list)  # every kill point's label
    findings: list[Finding] = field(default_factory=list)


def drive(scenario: Scenario, base: str, hooks=None) -> faults.ChildRun:
    """Run the scenario once on a copy of its host, keeping a checkpoint at every kill point (in a worker); hooks
    choose the points (faults.install by default, events.install for event-chosen ones)."""
    root = os.path.join(base, "drive", scenario.name)
    samples.copy_host(scenario.pre, root)
    run = faults.checkpoints(lambda: scenario.apply(root), root, os.path.join(base, "checkpoints", scenario.name),
                             os.path.join(base, f"{scenario.name}.log"), hooks)
    shutil.rmtree(root, ignore_errors=True)
    return run


def inspect(tree: str, crashes: list[faults.Crash]) -> tuple[str, list[tuple[faults.Crash, list[str]]], tuple, str]:
    """The damage each crash left in their shared tree; what a recovery from that tree depends on (its host state,
    whether the lock is held, the unfinished steps in the ledger: trees alike in these recover alike, so one
    recovery run serves them all); and a digest of the host state alone."""
    found = []
    for crash in crashes:
        try:
            found.append((crash, damage(tree, crash)))
        except Exception as e:  # a checker that breaks is a finding too, with the point that caused it
            found.append((crash, [f"checking raised {type(e).__name__}: {e}"]))
    state = trees.digest(trees.host_state(tree, trees.snapshot(tree)))
    with open_host(f"sample:{tree}") as host:
        held = lock.read_holder(host) is not None
        unfinished = sorted((r.get("section", ""), r.get("step", "")) for r in
                            ledger.unfinished(ledger.read_records(host)))
    return tree, found, (state, held, tuple(unfinished)), state


def recovery(scenario: Scenario, ref: Reference, tree: str) -> list[str]:
    """recover() on a checkpoint's tree, which is removed afterwards."""
    try:
        return recover(scenario, tree, ref)
    except Exception as e:
        return [f"recovering raised {type(e).__name__}: {e}"]
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def campaign(pool, scenarios: list[Scenario], base: str, hooks=None) -> Campaign:
    """Kill every scenario at every point (as hooks choose them), check each tree for damage, and recover each
    distinct tree."""
    out = Campaign()
    refs = {s.name: pool.submit(reference, s, os.path.join(base, "reference", s.name)) for s in scenarios}
    runs = {s.name: pool.submit(drive, s, base, hooks) for s in scenarios}
    recoveries = []
    for s in scenarios:
        run = runs[s.name].result()
        if run.killed or run.status != 0:
            out.findings.append(Finding(s.name, 0, "the uninterrupted run", [run.error or f"status {run.status}"]))
            continue
        ref = refs[s.name].result()
        if ref.failed:
            out.findings.append(Finding(s.name, 0, "the uninterrupted run", [f"failed steps: {ref.failed}"]))
            continue
        crashes = run.crashes()
        out.points[s.name] = len(crashes)
        out.labels += [c.label for c in crashes]
        shared: dict[str, list[faults.Crash]] = {}
        for crash in crashes:
            shared.setdefault(crash.tree, []).append(crash)
        first: dict[tuple, faults.Crash] = {}
        for tree, found, key, state in pool.map(inspect, list(shared), list(shared.values())):
            for crash, problems in found:
                out.states[(s.name, crash.point)] = state
                if problems:
                    out.findings.append(Finding(s.name, crash.point, crash.label, problems))
            if key in first:
                shutil.rmtree(tree, ignore_errors=True)
            else:
                first[key] = found[0][0]
        out.distinct[s.name] = len(first)
        recoveries += [(s.name, c, pool.submit(recovery, s, ref, c.tree)) for c in first.values()]
    for name, crash, future in recoveries:
        problems = future.result()
        if problems:
            out.findings.append(Finding(name, crash.point, crash.label, problems))
    return out
