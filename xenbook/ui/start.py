"""A workspace's start page: the sections in runbook order, each with its notebook and its status on this host (the
last apply its ledger records, and the workspace's latest run), and the runs of this host."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from xenbook.connectors.targets import open_host
from xenbook.core.errors import XenbookError
from xenbook.engine.ledger import read_records
from xenbook.engine.params import RunbookParams, build, load_file
from xenbook.engine.registry import sections
from xenbook.report.runs import LATEST, REPORT

START_NOTEBOOK = "00-start.ipynb"
RUNS = "runs"


def start_notebook(params_file: str) -> dict:
    """The start page as a notebook: what the workspace holds, the sections in order, and a cell showing their
    status on the host params_file names."""
    rows = [f"- **{s.order:02d}** [{s.title}]({s.notebook})" for s in sections().values()]
    intro = ("# This host's runbook\n\n"
             f"Every notebook here reads the host's parameters from `{params_file}` (the one source of truth: the "
             f"CLI reads it with `xenbook plan --params {params_file}`). A value set in a notebook's first cell "
             "overrides the file for that run only.\n\nThe sections, in order:\n\n" + "\n".join(rows) + "\n\n"
             f"Unattended runs (`xenbook run --params {params_file}`) land in [`{RUNS}/`]({RUNS}/index.md), the "
             f"newest in `{RUNS}/{LATEST}/`. Run the next cell for each section's status on this host.")
    cells = [{"cell_type": "markdown", "metadata": {}, "source": intro},
             {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": None, "outputs": [],
              "source": f'params_file: "Optional[str]" = {json.dumps(params_file)}  # the host\'s YAML parameters file'},
             {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": "from xenbook.ui import start\n\nstart.page(params_file)"}]
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                        "name": "python3"}, "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 4}  # no cell ids: a copy stays byte for byte the same on every init


def _counts(statuses: list[str]) -> str:
    return ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))


def recorded(records: list[dict]) -> dict[str, str]:
    """Each section's last recorded apply in the ledger: when, and its steps' statuses."""
    out: dict[str, str] = {}
    for r in records:
        if r["kind"] == "run-end":
            for section, steps in r.get("steps", {}).items():
                out[section] = f"{r['time']}: {_counts(list(steps.values()))}"
        elif r["kind"] == "interrupted":
            out[r["section"]] = f"{r['time']}: step {r['step']} interrupted"
    return out


def latest(runs_dir: Path) -> dict[str, str]:
    """Each section's statuses in the latest run of this workspace."""
    try:
        data = json.loads((runs_dir / LATEST / REPORT).read_text())
    except (OSError, ValueError):
        return {}
    kind = "dry run" if data.get("dry_run", True) else "apply"
    steps: dict[str, list[str]] = {}
    for s in data.get("steps", []):
        steps.setdefault(s.get("section", ""), []).append(s.get("status", ""))
    return {section: f"{kind}: {_counts(found)}" for section, found in steps.items()}


class StartPage:
    """The sections' table, shown as HTML in the notebook."""

    def __init__(self, target: str, rows: list[list[str]], note: str = ""):
        self.target, self.rows, self.note = target, rows, note

    def _repr_html_(self) -> str:
        e = html.escape
        head = "".join(f"<th>{h}</th>" for h in ("section", "notebook", "last apply (ledger)", f"{RUNS}/{LATEST}"))
        left = "style='text-align:left;vertical-align:top'"  # JupyterLab right-aligns output tables
        head = head.replace("<th>", f"<th {left}>")
        body = "".join("<tr>" + f"<td {left}>{e(r[0])}</td><td {left}><a href='{e(r[1])}'>{e(r[1])}</a></td>"
                       + "".join(f"<td {left}>{e(c) or '—'}</td>" for c in r[2:]) + "</tr>" for r in self.rows)
        note = f"<p>{e(self.note)}</p>" if self.note else ""
        return (f"<p>Host <code>{e(self.target)}</code>; runs: <a href='{RUNS}/index.html'>{RUNS}/index.html</a>"
                f"</p>{note}<table><tr>{head}</tr>{body}</table>")

    def __repr__(self) -> str:
        return "\n".join([f"host {self.target}"] + ["  ".join(r) for r in self.rows])


def page(params_file: str | None) -> StartPage:
    """The start page for the host params_file names (relative: from the notebook's folder)."""
    data = load_file(params_file) if params_file else {}
    params = build(RunbookParams, data)
    note, records = "", []
    try:
        with open_host(params.target, sudo=params.sudo, ssh_config=params.ssh_config) as host:
            records = read_records(host)
    except (XenbookError, OSError) as e:
        note = f"the host's ledger could not be read: {e}"
    applied = recorded(records)
    runs_dir = Path(os.path.dirname(os.path.abspath(params_file)) if params_file else ".") / RUNS
    ran = latest(runs_dir)
    chosen = params.sections or list(sections())
    rows = [[s.title, s.notebook, applied.get(s.name, "no apply recorded"), ran.get(s.name, "")]
            for s in sections().values() if s.name in chosen]
    return StartPage(params.target, rows, note)
