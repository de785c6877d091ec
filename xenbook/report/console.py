"""Reports and tables for a terminal, with rich."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

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
