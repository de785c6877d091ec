"""The only code that changes a host: plan every step, then apply what differs (unless dry run)."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from typing import Callable, Iterable

from xenbook.core.actions import Deferred, Plan, RemoveFile, WriteFile
from xenbook.core.commands import Command, Result, output_tail
from xenbook.core.errors import HostError, XenbookError
from xenbook.core.host import Host
from xenbook.core.paths import BACKUP_DIR, PENDING_DIR, TEMP_NAME
from xenbook.core.step import Regeneration, Step
from xenbook.engine.backups import prune
from xenbook.engine.ledger import PLANNED_ENV, RUN_ENV, Journal, read_records
from xenbook.engine.results import Report, StepResult, merge_facts
from xenbook.safety.validators import NOT_VALIDATED, validate_bytes, validate_candidate

Progress = Callable[[StepResult], None]
Started = Callable[[Step], None]  # told when a step begins: before its live output lines and its result
RAISED = ("the program stopped with an error instead of an exit status; check the host for what it left half "
          "done (the files and folders the error names), then run xenbook apply again: the step is retried")


def run_id() -> str:
    """A new run's id: its start time, and a random suffix so that two runs never share one."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def planned_before() -> dict[str, str]:
    """What earlier notebooks of this `xenbook run` would install (path -> step), from PLANNED_ENV; {} without it."""
    try:
        planned = json.loads(os.environ.get(PLANNED_ENV) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in planned.items()} if isinstance(planned, dict) else {}


class Runner:
    """Applies steps to one host; dry_run reads everything and writes nothing; allow_unvalidated names the checks
    (validators) whose tool may be missing, the file then written unchecked and reported "not validated"."""

    def __init__(self, host: Host, *, dry_run: bool = True, progress: Progress | None = None,
                 on_line: Callable[[str], None] | None = None, wait: float = 0.0, keep_backups: int | None = None,
                 allow_unvalidated: Iterable[str] = (), on_start: Started | None = None):
        self.host = host
        self.keep_backups = keep_backups  # an apply then prunes all but the newest runs' backups; None keeps all
        self.allow_unvalidated = frozenset(allow_unvalidated)
        self.dry_run = dry_run
        self.progress = progress
        self.on_line = on_line
        self.on_start = on_start
        self.run_id = os.environ.get(RUN_ENV) or run_id()  # `xenbook run` gives its notebooks its own
        self.journal = Journal(host, self.run_id, dry_run=dry_run, wait=wait)  # ledger.py: lock and records
        self._reboot = ""

    def run(self, steps: Iterable[Step]) -> Report:
        report = Report(self.host.target, self.host.simulated, self.dry_run)
        steps = list(steps)
        scope = ",".join(sorted({str(getattr(s, "section", "")) for s in steps}))
        self.host.begin_run(self.dry_run, scope)  # facts are read afresh by every run: the host may have changed
        before = dict(getattr(self.host, "answered", {}))
        try:
            self.journal.open(report)
            try:
                if not self.dry_run:
                    self._remove_leftovers()
                self._steps(steps, report)
                if not self.dry_run and self.keep_backups is not None:
                    report.pruned = prune(self.host, self.keep_backups, self.run_id,
                                          record=self.journal.record).removed
            except BaseException as e:
                self.journal.close(report, e)
                raise
            finally:
                after = getattr(self.host, "answered", None)
                if after is not None:  # a simulated host counts who answered its commands: real tools or simulation
                    report.answered = {k: v - before.get(k, 0) for k, v in after.items()}
            self.journal.close(report)
        finally:
            self.host.end_run()
        return report

    def _steps(self, steps: Iterable[Step], report: Report) -> None:
        self.facts = report.facts
        # dry runs: path -> the would-change step that installs it; `xenbook run` hands each notebook's plan what the
        # notebooks before it would install (PLANNED_ENV), as one plan of all sections knows it
        self.provided: dict[str, str] = planned_before() if self.dry_run else {}
        report.provided = self.provided
        triggered: dict[str, list[str]] = {}
        blocked: dict[tuple[str, str], str] = {}  # (section, group) -> the step that failed; group "": all of it
        reboot_section = ""
        for step in steps:
            started = time.monotonic()
            if reboot_section and step.section != reboot_section:
                result = StepResult(step.section, step.name, "skipped",
                                    f"not run: reboot first ({report.reboot_required})")
                report.steps.append(result)
                if self.progress:
                    self.progress(result)
                continue
            result = self._one(step, triggered, blocked)
            result.duration = round(time.monotonic() - started, 4)
            report.steps.append(result)
            if result.status == "failed":
                blocked.setdefault((step.section, step.group), step.name)
            if self._reboot and result.status != "failed":
                report.reboot_required, reboot_section = self._reboot, step.section
            self._reboot = ""
            if self.progress:
                self.progress(result)

    def _one(self, step: Step, triggered: dict[str, list[str]], blocked: dict[tuple[str, str], str]) -> StepResult:
        result = StepResult(step.section, step.name, "ok")
        failed = blocked.get((step.section, "")) or (blocked.get((step.section, step.group)) if step.group else None)
        if failed:
            result.status, result.reason = "skipped", f"not run: step {failed} failed before it"
            return result
        if self.on_start:
            self.on_start(step)
        try:
            if isinstance(step, Regeneration):
                step.triggered_by = tuple(triggered.get(step.name, ()))
            plan = step.plan(self.host)
        except (XenbookError, ValueError, OSError) as e:
            result.status, result.reason = "failed", f"could not plan: {getattr(e, 'message', None) or e}"
            result.remedy = getattr(e, "remedy", "") or (RAISED if isinstance(e, OSError) else "")
            return result
        self._reboot = plan.reboot
        result.reason, result.remedy = plan.reason, plan.remedy
        result.verdict, result.value = plan.verdict, plan.value
        if plan.facts:
            merge_facts(self.facts, plan.facts)
        result.diffs = [{"path": a.path, "diff": a.diff()} for a in plan.actions
                        if isinstance(a, (WriteFile, RemoveFile)) and a.old != a.new]
        result.commands = [a.describe() for a in plan.actions
                           if not isinstance(a, (WriteFile, RemoveFile)) or a.old == a.new]
        if plan.actions:
            result.commands += [f"{a.describe()}  (always, at the end)" for a in plan.cleanup]
        if plan.failed:
            providers = sorted({self.provided.get(p, "") for p in plan.missing})
            if self.dry_run and plan.missing and "" not in providers:
                result.status = "skipped"
                result.reason = f"would be installed by {', '.join(providers)}: {', '.join(plan.missing)}"
                return result
            result.status = "failed"
            return result
        if not plan.actions:
            return result
        for name in step.triggers:
            triggered.setdefault(name, []).append(step.name)
        if self.dry_run:
            result.status = "would-change"
            for path in step.provides:
                self.provided.setdefault(path, step.name)
            try:
                checked_on = self.host.target if self.host.over_network else ""
                for action in plan.actions:
                    if isinstance(action, WriteFile):
                        _note(result, validate_bytes(action.validator, action.new, action.path,
                                                     self.allow_unvalidated, checked_on))
            except XenbookError as e:
                result.status, result.reason = "failed", getattr(e, "message", None) or str(e)
                result.remedy = getattr(e, "remedy", "") or result.remedy
            return result
        self.journal.start(step, result)
        try:
            self._apply(step, plan, result)
            result.status = "changed"
            problem = step.verify(self.host) if isinstance(step, Regeneration) else None
            if problem:
                result.status, result.reason = "failed", f"ran, but the result is wrong: {problem}"
            elif isinstance(step, Regeneration) and step.validator and step.output:
                output = self.host.read_bytes(step.output)
                if output is None:
                    raise HostError(f"{step.output} is missing after {step.command.argv[0]} ran")
                _note(result, validate_candidate(self.host, step.validator, output, step.output, step.output,
                                                 self.allow_unvalidated, new=False))
        except (XenbookError, OSError) as e:
            result.status, result.reason = "failed", getattr(e, "message", None) or f"{type(e).__name__}: {e}"
            result.remedy = result.remedy or getattr(e, "remedy", "") or RAISED
        self.journal.end(step, result)
        return result

    def _apply(self, step: Step, plan: Plan, result: StepResult) -> None:
        host = self.host
        host.forget()
        try:
            self._apply_actions(step, plan, result)
        finally:
            failing = sys.exc_info()[1] is not None
            try:
                self._cleanup(plan, result, raise_errors=not failing)
            finally:
                host.forget()

    def _cleanup(self, plan: Plan, result: StepResult, raise_errors: bool) -> None:
        """Run every cleanup command (unmounts) whatever happened; a failed one fails the step."""
        problems = []
        for action in plan.cleanup:
            out = self._run(self.host, action.command)
            if out.returncode not in action.ok_codes:
                problems.append(f"{action.command} exited {out.returncode}: {(out.stderr or out.stdout).strip()}")
        if problems:
            message = "cleanup failed, check the host by hand: " + "; ".join(problems)
            if raise_errors:
                raise HostError(message)
            result.remedy = (result.remedy + "\n" if result.remedy else "") + message

    def _apply_actions(self, step: Step, plan: Plan, result: StepResult) -> None:
        host = self.host
        for name in step.triggers:
            self._mark_pending(name)
        queue = list(plan.actions)
        while queue:
            action = queue.pop(0)
            if isinstance(action, Deferred):
                queue[:0] = action.expand(host)
            elif isinstance(action, WriteFile):
                self._write(action, result)
            elif isinstance(action, RemoveFile):
                self._remove(action)
            else:
                if isinstance(step, Regeneration) and step.output and host.exists(step.output):
                    self._backup(step.output)
                out = self._run(action.host or host, action.command)
                result.output = out.stdout[-4000:] + out.stderr[-4000:]
                if out.returncode not in action.ok_codes:
                    remedy = action.remedy_for(out.stdout + out.stderr)
                    raise HostError(f"{action.command} exited {out.returncode}"
                                    f"{output_tail(out.stdout + out.stderr, action.tail)}", remedy=remedy)
        if isinstance(step, Regeneration):
            for marker in step.markers:  # an earlier release's name for it too
                host.remove(marker)

    def _run(self, host: Host, command: Command) -> Result:
        """host.run(command); an exception from the program (or from the way to it) becomes a HostError that names
        the command, so that the step fails with a remedy instead of stopping the run with a traceback."""
        try:
            return host.run(command, on_line=self.on_line)
        except XenbookError:
            raise
        except Exception as e:
            raise HostError(f"{command} raised {type(e).__name__}: {e}", remedy=RAISED) from e

    def _remove_leftovers(self) -> None:
        """Remove the temporary files (TEMP_NAME) that writes of a killed run left beside their files: in the
        folders of the files its interrupted steps planned to write (their ledger start records), and pending/."""
        records = read_records(self.host)
        ids = {r.get("of") for r in records if r["kind"] == "interrupted" and r.get("run") == self.run_id}
        if not ids:
            return
        folders = {PENDING_DIR} | {d["path"].rsplit("/", 1)[0] or "/" for r in records
                                   if r["kind"] == "start" and r.get("id") in ids for d in r.get("diffs", [])}
        for folder in sorted(folders):
            for name in self.host.listdir(folder) or []:
                if TEMP_NAME.fullmatch(name):
                    self.host.remove(f"{folder.rstrip('/')}/{name}")

    def _mark_pending(self, name: str) -> None:
        self.host.makedirs(PENDING_DIR, 0o700)
        self.host.write_atomic(f"{PENDING_DIR}/{name}", f"{self.run_id}\n".encode(), mode=0o600)

    def _backup(self, path: str) -> str | None:
        """Copy path under this run's backup folder unless it is there already; the copy's path when made."""
        dest = f"{BACKUP_DIR}/{self.run_id}{path}"
        if not self.host.exists(dest):
            self.host.makedirs(f"{BACKUP_DIR}/{self.run_id}", 0o700)  # makedirs gives the mode to the last folder only
            self.host.makedirs(dest.rsplit("/", 1)[0], 0o700)
            self.host.copy_file(path, dest)
            return dest
        return None

    def _remove(self, action: RemoveFile) -> None:
        if self.host.read_bytes(action.path) != action.old:
            raise HostError(f"{action.path} changed after it was planned; nothing was removed, plan again")
        backup = self._backup(action.path)
        self.host.remove(action.path)
        self.journal.wrote(action, backup)

    def _write(self, action: WriteFile, result: StepResult) -> None:
        host = self.host
        folder = action.path.rsplit("/", 1)[0] or "/"
        if not host.exists(folder):
            host.makedirs(folder)
        if host.read_bytes(action.path) != action.old:
            raise HostError(f"{action.path} changed after it was planned; nothing was written, plan again")
        backup = self._backup(action.path) if action.old is not None and action.backup else None

        def validate(candidate: str) -> None:
            _note(result, validate_candidate(host, action.validator, action.new, candidate, action.path,
                                             self.allow_unvalidated))

        host.write_atomic(action.path, action.new, mode=action.mode if action.old is None or action.set_mode else None,
                          validate=validate)
        self.journal.wrote(action, backup)


def _note(result: StepResult, notes: list[str]) -> None:
    """Add a validation's notes to result: what was checked, and what was not (shown as "not validated")."""
    result.validated += [n for n in notes if not n.startswith(NOT_VALIDATED)]
    result.unvalidated += [n[len(NOT_VALIDATED):] for n in notes if n.startswith(NOT_VALIDATED)]
