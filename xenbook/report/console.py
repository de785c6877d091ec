"""Reports and tables for a terminal, with rich."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from xenbook.core.step import Step
from xenbook.engine.results import Report, StepResult

STYLES = {"ok": "green", "would-change": "yellow", "changed": "blue", "failed": "bold red", "skipped": "dim"}
VERDICT_STYLES = {"ok": "green", "warning": "yellow", "blocking": "bold red"}


def print_step(console: Console, s: StepResult, *, diffs: bool = True) -> None:
    label, style = ((s.verdict, VERDICT_STYLES.get(s.verdict, "")) if s.verdict and s.status == "ok"
                    else (s.status, STYLES.get(s.status, "")))  # a check that did not fail shows its verdict
    console.print(f"[{style}]{label:>12}[/] {s.section}/{s.name}: {escape(s.reason)}",
                  highlight=False, markup=True, soft_wrap=True)
    if s.remedy and s.status == "failed":
        console.print(f"{'':>13}what to do: {s.remedy}", highlight=False, markup=False, soft_wrap=True)
    for note in s.unvalidated:
        console.print(f"{'':>13}[yellow]not validated[/]: {escape(note)}", highlight=False, markup=True, soft_wrap=True)
    for c in s.commands:
        console.print(f"{'':>13}$ {c}", highlight=False, markup=False, soft_wrap=True)
    if diffs:
        for d in s.diffs:
            for line in d["diff"].splitlines():
                console.print(Text(line, style=_diff_style(line)), soft_wrap=True)


def print_output_line(console: Console, line: str) -> None:
    """One line of a long command's output (a package build), shown as it arrives."""
    console.print(Text(f"{'':>13}| {line}", style="dim"), soft_wrap=True)


class LiveSteps:
    """A run's progress as Ansible users know it: a step's header when it starts, its command's output lines as they
    arrive, its result when it ends. every_header prints each step's header (an apply); without it (a plan, whose
    steps only read) a header is printed only before a step's first output line. In a terminal a spinner with the
    running step's name and its time so far stays below the lines. results=False leaves out the result lines (--json
    prints the report instead); changes_only shows only the steps that are not ok (the plan before a confirmation)."""

    def __init__(self, console: Console, *, every_header: bool = True, results: bool = True,
                 changes_only: bool = False):
        self.console, self.every_header, self.results, self.changes_only = console, every_header, results, changes_only
        self.label, self.headed = "", True
        self.spinner: Progress | None = None

    def callbacks(self) -> dict:
        """The runner's callbacks (run_sections' on_start, on_line and progress) that feed this view."""
        return {"on_start": self.started, "on_line": self.line, "progress": self.finished}

    def started(self, step: Step) -> None:
        self.label, self.headed = f"{step.section}/{step.name}", False
        if self.every_header:
            self._header()
        if self.console.is_terminal:
            self._stop()
            self.spinner = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                    console=self.console, transient=True)
            self.spinner.add_task(escape(self.label), total=None)
            self.spinner.start()

    def line(self, text: str) -> None:
        if not self.headed:
            self._header()
        print_output_line(self.console, text)

    def finished(self, result: StepResult) -> None:
        self._stop()
        self.headed = True
        if self.results and not (self.changes_only and result.status == "ok" and result.verdict in ("", "ok")):
            print_step(self.console, result)

    def close(self) -> None:
        self._stop()

    def _header(self) -> None:
        self.headed = True
        self.console.print(Text(f"{'running':>12} {self.label}", style="bold"), soft_wrap=True)

    def _stop(self) -> None:
        if self.spinner is not None:
            self.spinner.stop()
            self.spinner = None


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    return {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")


def readiness_table(report: Report) -> Table:
    """The check rows of a report: what each check found, its verdict, and what to do."""
    table = Table("check", "value", "verdict", "what to do", title="readiness")
    for s in report.steps:
        if s.verdict:
            table.add_row(s.name, Text(s.value), Text(s.verdict, style=VERDICT_STYLES.get(s.verdict, "")),
                          Text(s.remedy if s.verdict != "ok" else ""))
    return table


def print_readiness(console: Console, report: Report) -> None:
    """Print the readiness table when the report has check rows."""
    if any(s.verdict for s in report.steps):
        console.print(readiness_table(report))
