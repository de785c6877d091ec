"""Unattended runs: each section notebook executed by papermill, reports gathered into one."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml
from rich.console import Console
from rich.progress import Progress
from rich.text import Text

from xenbook.connectors.targets import open_host, parse_target, simulated
from xenbook.engine.ledger import PLANNED_ENV, RUN_ENV, Journal
from xenbook.engine.params import RunbookParams
from xenbook.engine.registry import available, check_sections
from xenbook.engine.results import Report, StepResult, to_html
from xenbook.engine.runner import run_id
from xenbook.ui.notebook import HOST_FIELDS


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
        return slug(socket.gethostname())
    return slug(f"{target.kind}-{os.path.basename(target.path)}") if target.kind == "chroot" else slug(target.kind)


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

    def summary(self, again: str = "") -> str:
        """What happened, where the evidence is, and at a reboot point what to do next (again: this command)."""
        lines = [self.report.summary()] + ([self.report.tools_line()] if self.report.tools_line() else []) + [
            f"error: {e}" for e in self.errors]
        lines.append(f"executed notebooks and report.html are in {self.out_dir}")
        if self.exit_code == 3:
            lines += [f"reboot needed: {self.report.reboot_required}",
                      "what to do: reboot the machine into the Xen entry"
                      + (f" (a sample host: xenbook reboot --target {self.report.target})"
                         if self.report.simulated else "")
                      + ", then run the same command again" + (f": {again}" if again else "")
                      + "; the finished sections run again quickly and change nothing, the dom0 section checks "
                      "that the machine runs Xen, and the later sections continue"]
        return "\n".join(lines)


@contextmanager
def held(params: RunbookParams, report: Report, wait: float = 0.0):
    """The run's journal for its notebooks: one run id for all, and in an apply the target's lock held throughout;
    ParameterError first, before the host is touched, for values of the sections that this host cannot take."""

    with open_host(params.target, sudo=params.sudo, ssh_config=params.ssh_config) as host:
        check_sections(host, params)  # each notebook checks only its own section, after the earlier ones ran
        journal = Journal(host, run_id(), dry_run=params.dry_run, wait=wait)
        journal.open(report)  # reports (and in an apply records) steps an earlier run left interrupted
        before = {name: os.environ.get(name) for name in (RUN_ENV, PLANNED_ENV)}
        os.environ[RUN_ENV] = journal.run_id  # the notebooks' kernels inherit it
        os.environ.pop(PLANNED_ENV, None)
        try:
            yield journal
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            journal.close(report, sys.exc_info()[1])


def _import_papermill():
    """papermill, imported without the optional rfc3987-syntax package: jsonschema (papermill validates notebooks
    with it) loads that package for its `iri` format check, and it compiles an Earley grammar at import, about a
    second or two. Notebook schemas use no formats, so validation is the same without it."""
    blocked = "rfc3987_syntax" not in sys.modules
    if blocked:
        sys.modules["rfc3987_syntax"] = None  # its import raises ImportError, which jsonschema skips
    try:
        import papermill
    finally:
        if blocked:
            del sys.modules["rfc3987_syntax"]
    return papermill


class Lines:
    """A file for papermill's stdout_file: what a notebook's kernel prints, handed on as whole lines (the steps'
    `status  name: reason` lines and their commands' `| output` lines) while the notebook runs."""

    def __init__(self, show):
        self.show, self.rest = show, ""

    def write(self, text: str) -> int:
        *lines, self.rest = (self.rest + text).split("\n")
        for line in lines:
            self.show(line)
        return len(text)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.rest:
            self.show(self.rest)
        self.rest = ""


SOCKET_PATH_MAX = 100  # a unix socket's path has at most 107 bytes (sun_path) on Linux: keep well inside


@contextmanager
def ipc_kernels():
    """A kernel manager class for papermill whose kernels talk to it over unix sockets in a private folder (0700,
    removed afterwards) instead of TCP on localhost: no other user of the machine can reach a kernel that runs a
    root tool's steps, and the kernel has no reason to warn that TCP runs unencrypted. The folder is short-named
    under the temporary folder (/tmp when that one's path is too long for a socket's)."""
    from jupyter_client.manager import AsyncKernelManager  # with papermill: it imports it anyway

    base = tempfile.gettempdir()
    folder = tempfile.mkdtemp(prefix="xenbook-", dir=base if len(base) < SOCKET_PATH_MAX - 30 else "/tmp")

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**{"transport": "ipc", "ip": os.path.join(folder, "k"), **kwargs})

    try:
        yield IPCKernelManager
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _failure(label: str, e: Exception) -> str:
    """One error line for a notebook that raised: its own message (a PapermillExecutionError's ename and evalue),
    not papermill's cell banner."""
    ename, evalue = getattr(e, "ename", None), getattr(e, "evalue", None)
    if ename is not None:
        return f"{label}: {ename}: " + "\n  ".join(str(evalue).strip().splitlines())
    return f"{label}: {type(e).__name__}: " + " ".join(str(e).strip().splitlines()[-1:])


def notebook_params(params: RunbookParams, item=None) -> dict:
    """What a notebook is given beyond report_path and params_file: how to reach the host, and the name of the one
    item (guest) it sets up. The rest it reads from params_file, as `xenbook apply` does."""
    return {k: getattr(params, k) for k in HOST_FIELDS} | ({"name": item.name} if item is not None else {})


def run_notebooks(params: RunbookParams, out_dir: str | None = None, params_file: str | None = None,
                  progress: bool = True, wait: float = 0.0, console: Console | None = None) -> Outcome:
    """Execute the sections' notebooks in order; stop at the first that fails or needs a reboot. Each section's
    step lines are shown on console as its kernel prints them (with progress, a bar of sections below them)."""
    papermill = _import_papermill()
    console = console or Console()

    target = parse_target(params.target)
    out = Path(out_dir or Path("runs") / host_name(target) / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    out.mkdir(parents=True, exist_ok=True)
    sections = available(params.sections)
    combined = Report(str(target), simulated(target), params.dry_run)
    outcome = Outcome(out, combined)
    jobs = [(s, g) for s in sections for g in (getattr(params, s.params_field) if s.many else [None])]
    whole = out / "params.yaml"  # every notebook reads the whole set, as `xenbook apply` uses it
    whole.write_text(yaml.safe_dump(params.model_dump(mode="json", exclude={"sections"}), sort_keys=False))
    with held(params, combined, wait) as journal, ipc_kernels() as kernels, \
            Progress(disable=not progress, transient=False, console=console) as bar:
        task = bar.add_task("sections", total=len(jobs))
        for section, guest in jobs:
            label = section.name + (f"-{guest.name}" if guest else "")
            bar.update(task, description=f"section {label}")
            if progress:
                console.print(Text(f"section {label} ({section.notebook})", style="bold"), soft_wrap=True)
            lines = Lines(lambda line: console.print(Text(line), soft_wrap=True) if progress else None)
            report_path = out / f"{label}.report.json"
            nb_out = out / (section.notebook.replace(".ipynb", f"-{guest.name}.ipynb") if guest else section.notebook)
            if params.dry_run:  # its plan skips what the notebooks before it would install, as one plan does
                os.environ[PLANNED_ENV] = json.dumps(combined.provided)
            nb_params = notebook_params(params, guest) | {"report_path": str(report_path.resolve()),
                                                          "params_file": str(whole.resolve())}
            try:
                papermill.execute_notebook(str(section.notebook_path()), str(nb_out),
                                           parameters=nb_params, kernel_name="python3", progress_bar=False,
                                           cwd=str(out), request_save_on_cell_execute=False,
                                           kernel_manager_class=kernels, stdout_file=lines)
            except Exception as e:  # papermill raises its own and nbclient's errors
                outcome.errors.append(_failure(label, e))
                outcome.errors += [f"{label}: the notebook's process died during step {i['step']}: the ledger "
                                   "has its start and no end (papermill marks every cell completed when a kernel "
                                   "dies); run again to continue" for i in journal.died(combined)]
            lines.close()
            outcome.notebooks.append(nb_out)
            if report_path.exists():
                combined.extend(_load_report(report_path))
            elif not outcome.errors:
                outcome.errors.append(f"{label}: the notebook wrote no report")
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
