"""The record of a run: one result per step, as data, JSON and HTML."""

from __future__ import annotations

import html
import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field

from xenbook.core.errors import StepsFailed

STATUSES = ("ok", "would-change", "changed", "failed", "skipped")
VERDICTS = ("ok", "warning", "blocking")  # of read-only checks


@dataclass
class StepResult:
    """What happened to one step."""

    section: str
    name: str
    status: str
    reason: str = ""
    diffs: list[dict] = field(default_factory=list)  # [{"path": ..., "diff": ...}]
    commands: list[str] = field(default_factory=list)
    duration: float = 0.0
    remedy: str = ""
    validated: list[str] = field(default_factory=list)
    unvalidated: list[str] = field(default_factory=list)  # checks that could not run: the file is "not validated"
    output: str = ""
    verdict: str = ""
    value: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Report:
    """All step results of one plan or apply against one target."""

    target: str
    simulated: bool
    dry_run: bool
    steps: list[StepResult] = field(default_factory=list)
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    reboot_required: str = ""
    facts: dict = field(default_factory=dict)
    interrupted: list[dict] = field(default_factory=list)  # steps an earlier run started and never ended (ledger)
    answered: dict = field(default_factory=dict)  # a simulated host: commands answered by real tools and simulated
    pruned: list[str] = field(default_factory=list)  # backup folders an apply removed (keep_backups)
    ledger_skipped: list[str] = field(default_factory=list)  # malformed records of the target's ledger, left out
    provided: dict = field(default_factory=dict)  # a dry run: path -> the would-change step that would install it

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == "failed"]

    def count(self, status: str) -> int:
        return sum(1 for s in self.steps if s.status == status)

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in STATUSES if self.count(s)]
        sim = " [SIMULATED host]" if self.simulated else ""
        mode = "dry run" if self.dry_run else "apply"
        verdicts = [s.verdict for s in self.steps if s.verdict]
        ready = "; readiness: " + ", ".join(f"{verdicts.count(v)} {v}" for v in VERDICTS if v in verdicts) \
            if verdicts else ""
        unchecked = sum(1 for s in self.steps if s.unvalidated)
        ready += f"; {unchecked} not validated" if unchecked else ""
        died = "; interrupted earlier: " + ", ".join(f"{i['section']}/{i['step']}" for i in self.interrupted) \
            if self.interrupted else ""
        skipped = f"; {len(self.ledger_skipped)} malformed ledger record(s) skipped" if self.ledger_skipped else ""
        return f"{self.target}{sim}, {mode}: " + (", ".join(parts) or "no steps") + ready + died + skipped

    def tools_line(self) -> str:
        """On a simulated host: how many commands real tools answered and how many the simulation did ("" else)."""
        return (f"commands on the SIMULATED host: {self.answered.get('real', 0)} answered by real tools, "
                f"{self.answered.get('simulated', 0)} simulated") if self.answered else ""

    def to_dict(self) -> dict:
        return {"target": self.target, "simulated": self.simulated, "dry_run": self.dry_run,
                "started": self.started, "reboot_required": self.reboot_required, "facts": self.facts,
                "interrupted": self.interrupted, "answered": self.answered, "pruned": self.pruned,
                "ledger_skipped": self.ledger_skipped, "provided": self.provided,
                "steps": [s.to_dict() for s in self.steps]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path: str) -> str:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            f.write(self.to_json() + "\n")
        return path

    def raise_for_failures(self) -> None:
        if self.failed:
            lines = [f"{s.section}/{s.name}: {s.reason}" + (f" (what to do: {s.remedy})" if s.remedy else "")
                     for s in self.failed]
            raise StepsFailed(f"{len(self.failed)} step(s) failed on {self.target}:\n  " + "\n  ".join(lines))

    def extend(self, other: "Report") -> None:
        self.steps.extend(other.steps)
        merge_facts(self.facts, other.facts)
        self.reboot_required = self.reboot_required or other.reboot_required
        self.interrupted += [i for i in other.interrupted if i not in self.interrupted]
        self.ledger_skipped += [s for s in other.ledger_skipped if s not in self.ledger_skipped]
        for path, step in other.provided.items():
            self.provided.setdefault(path, step)
        for kind, count in other.answered.items():
            self.answered[kind] = self.answered.get(kind, 0) + count

    def _repr_html_(self) -> str:
        return to_html(self)


def merge_facts(facts: dict, new: dict) -> dict:
    """facts holds new's values, nested mappings merged key by key (so two steps can add to one top key)."""
    for key, value in new.items():
        if isinstance(value, dict):
            if not isinstance(facts.get(key), dict):
                facts[key] = {}
            merge_facts(facts[key], value)  # a copy: later merges never change a step's own facts
        else:
            facts[key] = value
    return facts


_COLOURS = {"ok": "#2e7d32", "would-change": "#b26a00", "changed": "#1565c0", "failed": "#c62828",
            "skipped": "#616161"}
VERDICT_COLOURS = {"ok": "#2e7d32", "warning": "#b26a00", "blocking": "#c62828"}
QUIET = ("ok", "skipped")  # the rows "changed only" hides

# Scoped to .xb-report, so it holds in a notebook's output as in a page of its own. Long lines wrap (no line is wider
# than the page), and the "changed only" checkbox hides quiet rows with a sibling selector: no script, which
# JupyterLab does not run in an output and a static report.html must not need. JupyterLab drops <style> from an
# untrusted notebook's outputs (one executed elsewhere, as `xenbook run` leaves them) and keeps only some properties
# of style attributes (overflow-wrap:break-word but not anywhere, which a fixed table layout does not need): the
# wrapping is inline too, and the filter is hidden inline and shown by the stylesheet, so it never shows dead.
REPORT_CSS = (
    ".xb-report{max-width:100%;overflow-wrap:anywhere}"
    ".xb-report table.xb-steps{border-collapse:collapse;width:100%;table-layout:fixed;margin:4px 0}"
    ".xb-report table.xb-steps th,.xb-report table.xb-steps td{border:1px solid #d0d0d0;padding:3px 6px;"
    "vertical-align:top;text-align:left;white-space:normal;overflow-wrap:anywhere;word-break:normal}"
    ".xb-report pre,.xb-report code{white-space:pre-wrap;overflow-wrap:anywhere;max-width:100%}"
    ".xb-report pre{font-size:12px;line-height:1.3;margin:4px 0;overflow-x:visible}"
    ".xb-report input.xb-only-changed:checked~table tr.xb-quiet{display:none}"
    ".xb-report input.xb-only-changed{display:inline-block!important}"
    ".xb-report label.xb-filter{display:inline-block!important;font-size:13px;margin-left:.3em;cursor:pointer}"
    ".xb-report .xb-none{color:#616161;font-style:italic}"
    ".xb-report input.xb-only-changed:checked~.xb-none{display:block!important}")
# section, step, status, details (the rest), time
_COLUMNS = ('<colgroup><col style="width:6em"><col style="width:13em"><col style="width:8.5em"><col>'
            '<col style="width:4.5em"></colgroup>')


def row_label(s: StepResult) -> str:
    """The one status a row shows: a check that did not fail shows its verdict, every other step its status."""
    return s.verdict if s.verdict and s.status == "ok" else s.status


def diff_html(diff: str) -> str:
    out = []
    for line in diff.splitlines():
        colour = ("#1b5e20", "#e8f5e9") if line.startswith("+") and not line.startswith("+++") else \
                 ("#b71c1c", "#ffebee") if line.startswith("-") and not line.startswith("---") else \
                 ("#0d47a1", "#e3f2fd") if line.startswith("@@") else ("inherit", "transparent")
        out.append(f'<span style="color:{colour[0]};background:{colour[1]}">{html.escape(line)}</span>')
    return ('<pre style="font-size:12px;line-height:1.3;margin:4px 0;white-space:pre-wrap;overflow-wrap:break-word">'
            + "\n".join(out) + "</pre>")


def _banners(report: Report) -> str:
    banner = ('<div style="background:#fff3e0;border:1px solid #b26a00;padding:4px 8px;margin-bottom:6px">'
              "<b>SIMULATED host</b>: nothing here touched a real machine.</div>") if report.simulated else ""
    if report.reboot_required:
        banner += ('<div style="background:#e3f2fd;border:1px solid #1565c0;padding:4px 8px;margin-bottom:6px">'
                   f"<b>Reboot needed</b>: {html.escape(report.reboot_required)}</div>")
    for i in report.interrupted:
        banner += ('<div style="background:#ffebee;border:1px solid #c62828;padding:4px 8px;margin-bottom:6px">'
                   f"<b>Interrupted</b>: step {html.escape(i['step'])} of section {html.escape(i['section'])} "
                   f"(run {html.escape(i['run'])}, started {html.escape(i['started'])}) never finished: its process "
                   "died. This run planned it afresh from the host's state.</div>")
    for skipped in report.ledger_skipped:
        banner += ('<div style="background:#fff3e0;border:1px solid #b26a00;padding:4px 8px;margin-bottom:6px">'
                   f"<b>Ledger</b>: {html.escape(skipped)}</div>")
    return banner


def _row(s: StepResult) -> str:
    label = row_label(s)
    colour = VERDICT_COLOURS.get(label, "inherit") if s.verdict and s.status == "ok" else \
        _COLOURS.get(label, "inherit")
    detail = html.escape(s.reason)
    if s.verdict:  # a check row: what it found, in bold; a failed check names its verdict
        detail = f"<b>{html.escape(s.value)}</b><br>{detail}"
        if s.status != "ok":
            detail += f"<br><i>verdict:</i> {html.escape(s.verdict)}"
    if s.remedy:
        detail += f"<br><i>what to do:</i> {html.escape(s.remedy)}"
    if s.validated:
        detail += f"<br><small>validated: {html.escape('; '.join(s.validated))}</small>"
    for note in s.unvalidated:
        detail += f'<br><b style="color:#b26a00">not validated</b>: {html.escape(note)}'
    for c in s.commands:
        detail += f"<br><code>{html.escape(c)}</code>"
    for d in s.diffs:
        detail += diff_html(d["diff"])
    quiet = ' class="xb-quiet"' if label in QUIET else ""
    return (f"<tr{quiet}><td>{html.escape(s.section)}</td><td>{html.escape(s.name)}</td>"
            f'<td style="color:{colour};font-weight:bold">{html.escape(label)}</td>'
            f'<td style="text-align:left;vertical-align:top">{detail}</td><td>{s.duration:.3f}s</td></tr>')


def to_html(report: Report) -> str:
    """The report as an HTML fragment: banners, the summary, a "changed only" filter and one row per step."""
    head = "<tr><th>section</th><th>step</th><th>status</th><th>details</th><th>time</th></tr>"
    tools = f"<p>{html.escape(report.tools_line())}</p>" if report.tools_line() else ""
    box = f"xb-only-changed-{uuid.uuid4().hex[:12]}"  # unique: a notebook page can show many reports
    quiet = sum(1 for s in report.steps if row_label(s) in QUIET)
    filter_ = (f'<input type="checkbox" class="xb-only-changed" id="{box}" style="display:none">'
               f'<label class="xb-filter" for="{box}" style="display:none">changed only (hide {quiet} ok or skipped)'
               "</label>"
               + ('<div class="xb-none" style="display:none">every step is ok or skipped</div>' if quiet == len(report.steps) else "")
               ) if report.steps else ""
    return (f'<div class="xb-report" style="max-width:100%;overflow-wrap:break-word"><style>{REPORT_CSS}</style>'
            f"{_banners(report)}<p><b>{html.escape(report.summary())}</b></p>{tools}{filter_}"
            '<table class="xb-steps" style="width:100%;table-layout:fixed;border-collapse:collapse">'
            f'{_COLUMNS}{head}{"".join(_row(s) for s in report.steps)}</table></div>')
