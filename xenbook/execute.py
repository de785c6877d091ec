"""Unattended runs: each section notebook executed by papermill, reports gathered into one."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .notebook import flat_params
from .params import RunbookParams
from .report import Report, StepResult, to_html
from .sections import available


def notebooks_dir() -> Path:
    """Where the section notebooks are installed."""
    return Path(str(resources.files("xenbook.notebooks")))


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "host"


def host_name(target) -> str:
    """A short folder name for a target's runs."""
    if target.kind == "ssh":
        return slug(target.host)
    if target.kind == "local":
        import socket
        return slug(socket.gethostname())
    return slug(f"{target.kind}-{os.path.basename(target.path)}") if target.kind == "chroot" else "sample"


@dataclass
class Outcome:
    """What a run of the notebooks produced."""

    out_dir: Path
    report: Report
    notebooks: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.errors or self.report.failed:
            return 1
        return 3 if self.report.reboot_required else 0

    def summary(self) -> str:
        lines = [self.report.summary()] + [f"error: {e}" for e in self.errors]
        lines.append(f"executed notebooks and report.html are in {self.out_dir}")
        return "\n".join(lines)


def run_notebooks(params: RunbookParams, out_dir: str | None = None, params_file: str | None = None,
                  progress: bool = True) -> Outcome:
    """Execute the sections' notebooks in order; stop at the first that fails."""
    import papermill
    from rich.progress import Progress

    from .targets import parse_target

    target = parse_target(params.target)
    out = Path(out_dir or Path("runs") / host_name(target) / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    out.mkdir(parents=True, exist_ok=True)
    sections = available(params.sections)
    combined = Report(str(target), target.kind == "sample", params.dry_run)
    outcome = Outcome(out, combined)
    with Progress(disable=not progress, transient=False) as bar:
        task = bar.add_task("sections", total=len(sections))
        for section in sections:
            bar.update(task, description=f"section {section.name}")
            report_path = out / f"{section.name}.report.json"
            nb_out = out / section.notebook
            nb_params = flat_params(section, params) | {"report_path": str(report_path.resolve())}
            try:
                papermill.execute_notebook(str(notebooks_dir() / section.notebook), str(nb_out),
                                           parameters=nb_params, kernel_name="python3", progress_bar=False,
                                           cwd=str(out), request_save_on_cell_execute=False)
            except Exception as e:  # papermill raises its own and nbclient's errors
                outcome.errors.append(f"{section.name}: {type(e).__name__}: {str(e).strip().splitlines()[-1:]}")
            outcome.notebooks.append(nb_out)
            if report_path.exists():
                combined.extend(_load_report(report_path))
            elif not outcome.errors:
                outcome.errors.append(f"{section.name}: the notebook wrote no report")
            bar.advance(task)
            if outcome.errors or combined.failed or combined.reboot_required:
                break
    combined.save(str(out / "report.json"))
    (out / "report.html").write_text(_page(combined))
    return outcome


def _load_report(path: Path) -> Report:
    data = json.loads(path.read_text())
    steps = [StepResult(**s) for s in data.pop("steps")]
    return Report(**data, steps=steps)


def _page(report: Report) -> str:
    return ("<!doctype html><html><head><meta charset='utf-8'><title>xenbook report</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px;"
            "vertical-align:top}</style></head><body><h1>xenbook report</h1>"
            f"{to_html(report)}</body></html>\n")
