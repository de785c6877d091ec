"""The runs of one host tied together: a `latest` link to the newest run folder, and an index (HTML and Markdown)
listing every run with its summary: dry run or apply, reboot pending, failed. Runs before and after a reboot are
consecutive rows."""

from __future__ import annotations

import html
import json
import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

LATEST = "latest"
REPORT = "report.json"


@dataclass
class RunRow:
    """One run folder's summary, from its report.json."""

    folder: str
    kind: str  # "apply", "dry run", or "" when the run left no report
    outcome: str  # "failed", "reboot pending", "converged", "changed", "would change", "no report"
    counts: str
    notebooks: list[str]

    @staticmethod
    def read(folder: Path) -> "RunRow":
        notebooks = sorted(p.name for p in folder.glob("*.ipynb"))
        try:
            data = json.loads((folder / REPORT).read_text())
            steps = [s["status"] for s in data.get("steps", [])]
        except (OSError, ValueError, TypeError, KeyError):
            return RunRow(folder.name, "", "no report (the run stopped before it wrote one)", "", notebooks)
        counts = {s: steps.count(s) for s in dict.fromkeys(steps)}
        if "failed" in counts:
            outcome = "failed"
        elif data.get("reboot_required"):
            outcome = f"reboot pending: {data['reboot_required']}"
        elif "changed" in counts:
            outcome = "changed"
        elif "would-change" in counts:
            outcome = "would change"
        else:
            outcome = "converged"
        kind = "dry run" if data.get("dry_run", True) else "apply"
        return RunRow(folder.name, kind, outcome, ", ".join(f"{n} {s}" for s, n in counts.items()), notebooks)


def runs(runs_dir: Path) -> list[RunRow]:
    """Every run folder under runs_dir (a folder holding a report.json or executed notebooks), newest first."""
    folders = [p for p in runs_dir.iterdir() if p.is_dir() and not p.is_symlink()
               and ((p / REPORT).exists() or any(p.glob("*.ipynb")))] if runs_dir.is_dir() else []
    return [RunRow.read(p) for p in sorted(folders, key=lambda p: p.name, reverse=True)]


def link_latest(runs_dir: Path, run_folder: Path) -> None:
    """Point runs_dir/latest at run_folder (relative, replaced atomically); a file of that name that is no link is
    left alone."""
    link = runs_dir / LATEST
    if link.exists() and not link.is_symlink():
        return
    tmp = runs_dir / f".{LATEST}.{os.getpid()}"
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(run_folder.resolve(), runs_dir.resolve()), target_is_directory=True)
    os.replace(tmp, link)


def href(*parts: str) -> str:
    """A link to a path below the index, relative and percent-encoded (':' too): a folder named "javascript:x" or
    "a b" stays a path."""
    return "/".join(urllib.parse.quote(p, safe="") for p in parts)


def markdown(rows: list[RunRow], title: str) -> str:
    lines = [f"# {title}", "", f"The newest run is `{LATEST}/`. Each run folder holds the executed notebooks, "
             "`report.html` and `report.json`.", "",
             "| run | kind | outcome | steps | notebooks |", "|---|---|---|---|---|"]
    for r in rows:
        books = " ".join(f"[{_md(n)}]({href(r.folder, n)})" for n in r.notebooks)
        report = f"[{_md(r.folder)}]({href(r.folder, 'report.html')})" if r.kind else _md(r.folder)
        lines.append(f"| {report} | {r.kind} | {_md(r.outcome)} | {_md(r.counts)} | {books} |")
    return "\n".join(lines + ["" if rows else "No run yet.", ""])


def _md(text: str) -> str:
    """text shown literally in a Markdown table cell: HTML as entities, Markdown's marks and | escaped."""
    return re.sub(r"([\\`*_\[\]|~])", r"\\\1", html.escape(text, quote=False))


def _row(r: RunRow) -> str:
    e = html.escape
    run = f'<a href="{e(href(r.folder, "report.html"))}">{e(r.folder)}</a>' if r.kind else e(r.folder)
    books = " ".join(f'<a href="{e(href(r.folder, n))}">{e(n)}</a>' for n in r.notebooks)
    return "".join(f"<td>{cell}</td>" for cell in (run, e(r.kind), e(r.outcome), e(r.counts), books))


def page(rows: list[RunRow], title: str) -> str:
    e = html.escape
    table = "".join(f"<tr>{_row(r)}</tr>" for r in rows)
    return ("<!doctype html><html><head><meta charset='utf-8'><title>" + e(title) + "</title><style>body{font-family:"
            "sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
            "table{border-collapse:collapse}</style></head><body><h1>" + e(title) + "</h1><p>The newest run is "
            f"<a href='{LATEST}/report.html'>{LATEST}/</a>.</p><table><tr><th>run</th><th>kind</th><th>outcome</th>"
            "<th>steps</th><th>notebooks</th></tr>" + table + "</table>" + ("" if rows else "<p>No run yet.</p>")
            + "</body></html>\n")


def write_index(runs_dir: Path, newest: Path | None = None, title: str = "xenbook runs") -> list[RunRow]:
    """Link `latest` to newest (when given) and write index.html and index.md in runs_dir; return the rows."""
    if newest is not None:
        link_latest(runs_dir, newest)
    rows = runs(runs_dir)
    (runs_dir / "index.md").write_text(markdown(rows, title))
    (runs_dir / "index.html").write_text(page(rows, title))
    return rows
