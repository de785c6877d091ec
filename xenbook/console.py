"""Reports and tables for a terminal, with rich."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .report import Report, StepResult

STYLES = {"ok": "green", "would-change": "yellow", "changed": "blue", "failed": "bold red", "skipped": "dim"}


def print_step(console: Console, s: StepResult, *, diffs: bool = True) -> None:
    console.print(f"[{STYLES.get(s.status, '')}]{s.status:>12}[/] {s.section}/{s.name}: {s.reason}",
                  highlight=False, markup=True, soft_wrap=True)
    if s.remedy and s.status == "failed":
        console.print(f"{'':>13}what to do: {s.remedy}", highlight=False)
    for c in s.commands:
        console.print(f"{'':>13}$ {c}", highlight=False, markup=False)
    if diffs:
        for d in s.diffs:
            for line in d["diff"].splitlines():
                console.print(Text(line, style=_diff_style(line)), soft_wrap=True)


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    return {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")


def print_report(console: Console, report: Report, *, diffs: bool = True) -> None:
    if report.simulated:
        console.print("[bold yellow]SIMULATED host[/]: xenbook's sample machine, not a real one.")
    for s in report.steps:
        print_step(console, s, diffs=diffs)
    console.print(report.summary(), highlight=False)
    if report.reboot_required:
        console.print(f"[bold]reboot needed[/]: {report.reboot_required}")


def steps_table(report: Report) -> Table:
    table = Table("section", "step", "status", "reason")
    for s in report.steps:
        table.add_row(s.section, s.name, f"[{STYLES.get(s.status, '')}]{s.status}[/]", s.reason)
    return table
