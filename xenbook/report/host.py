"""`xenbook report`: what xenbook set up on a host, read from its files, its ledger and read-only checks.

Everything shown from a host file passes redact() first; diffs come back from the backups and the current files
only when their sha256 matches the digest the ledger recorded, so the ledger never needs to hold them."""

from __future__ import annotations

import time
from pathlib import Path

from xenbook.connectors.targets import open_host
from xenbook.core.actions import RemoveFile, WriteFile
from xenbook.core.document import Block, Code, Document, Heading, Part, Table
from xenbook.core.host import Host
from xenbook.core.renames import current
from xenbook.engine import ledger
from xenbook.engine.backups import pruned_backups, run_folder
from xenbook.engine.params import RunbookParams
from xenbook.engine.registry import run_sections, sections
from xenbook.engine.results import Report
from xenbook.facts import xen
from xenbook.facts.managed import read_quietly
from xenbook.report.page import to_html, to_markdown
from xenbook.safety.redact import redact


def applied_diffs(host: Host, records: list[dict]) -> dict[tuple[str, str], tuple[str | None, str]]:
    """(end id, path) -> (diff or None, why not) for every write the ledger recorded, from backups and files."""
    texts: dict[str, bytes] = {}
    ends = [r for r in records if r["kind"] == "end" and r.get("writes")]
    for w in (w for r in ends for w in r["writes"]):
        for data in (read_quietly(host, w.get("before")), read_quietly(host, w["path"])):
            if data is not None:
                texts[ledger.digest(data)] = data
    out: dict[tuple[str, str], tuple[str | None, str]] = {}
    pruned = pruned_backups(records)
    last_after: dict[str, str] = {}  # path -> sha256 of what the previous write left there
    for r in ends:
        for w in r["writes"]:
            before = (b"" if w.get("created") else read_quietly(host, w["before"]) if w.get("before")
                      else texts.get(last_after.get(w["path"], "")))
            after = b"" if w.get("removed") else texts.get(w["after"])
            last_after[w["path"]] = w["after"]
            if before is None or after is None:
                folder = run_folder(w.get("before") or "")
                why = (f"its backup {w['before']} was pruned by run {pruned[folder]} (keep_backups)"
                       if folder in pruned and not host.exists(w["before"]) else
                       "it is regenerable, so its old version was not backed up" if w.get("regenerable") else
                       "the file changed since and no backup holds that version" if host.exists(w["path"]) else
                       "the file is not on the host now (removed, or in a guest's filesystem that is not mounted)")
                out[(r["id"], w["path"])] = (None, f"the diff cannot be rebuilt: {why} (diff sha256 {w['diff'][:16]}...)")
                continue
            diff = (RemoveFile(w["path"], before) if w.get("removed") else
                    WriteFile(w["path"], None if w.get("created") else before, after)).diff()
            note = "" if ledger.digest(diff) == w["diff"] else " (rebuilt; it differs from the recorded digest)"
            out[(r["id"], w["path"])] = (redact(diff), note)
    return out


def _changes(host: Host, records: list[dict]) -> list[Block]:
    diffs = applied_diffs(host, records)
    starts = {r.get("id"): r for r in records if r["kind"] == "start"}
    blocks: list[Block] = []
    for r in (r for r in records if r["kind"] == "end"):
        commands = starts.get(r["id"], {}).get("commands", [])
        blocks += [Heading(f"{r['section']} / {r['step']}: {r['status']}"),
                   f"{r['time']}, run {r['run']}: {r['reason']}"]
        blocks += [Code("commands", "\n".join(commands))] if commands else []
        for w in r.get("writes", []):
            diff, note = diffs[(r["id"], w["path"])]
            blocks.append(Code(f"{w['path']}{note}", diff, diff=True) if diff is not None else f"{w['path']}: {note}")
    return blocks or ["The ledger records no change yet."]


def _steps_table(records: list[dict], plan: Report | None) -> Table:
    last: dict[tuple[str, str], tuple[str, str]] = {}
    for r in records:
        if r["kind"] == "run-end":
            for section, steps in r.get("steps", {}).items():
                for step, status in steps.items():
                    last[(section, current("step", step))] = (status, r["time"])  # an earlier release's name too
        if r["kind"] == "interrupted":
            last[(r["section"], current("step", r["step"]))] = ("interrupted", r["time"])
    now = {(s.section, s.name): s.status for s in plan.steps} if plan else {}
    keys = list(now) + [k for k in last if k not in now]
    head = ["section", "step", "last recorded", "when"] + (["plan now"] if plan else [])
    return Table(head, [[k[0], k[1], *last.get(k, ("", ""))] + ([now.get(k, "")] if plan else []) for k in keys])


def _ledger(records: list[dict], report: Report) -> list[Block]:
    runs: dict[str, list[str]] = {}
    counts: dict[str, dict[str, int]] = {}
    for r in records:  # `xenbook run` writes one begin and end per notebook, all under its run id
        if r["kind"] == "run-begin":
            runs.setdefault(r["run"], [r["run"], r["time"], f"{r.get('host')}", "", "", ""])
        elif r["kind"] == "run-end" and r["run"] in runs:
            runs[r["run"]][3] = r.get("status", "")
            runs[r["run"]][4] = ", ".join(dict.fromkeys(runs[r["run"]][4].split(", ") + list(r.get("steps", {})))
                                          ).strip(", ")
            for k, n in r.get("counts", {}).items():
                counts.setdefault(r["run"], {})[k] = counts.get(r["run"], {}).get(k, 0) + n
    for run, row in runs.items():
        row[5] = ", ".join(f"{n} {k}" for k, n in counts.get(run, {}).items())
    events = [[r["time"], r["kind"], f"{r.get('section', '')} / {r.get('step', '')} of run {r.get('of_run')}"
               if r["kind"] == "interrupted" else f"lock of run {r.get('of_run')} removed"]
              for r in records if r["kind"] in ("interrupted", "unlocked")]
    open_now = [f"interrupted and not yet seen by an apply: {i['section']} / {i['step']} (run {i['run']})"
                for i in report.interrupted]
    return [Table(["run", "began", "on", "ended", "sections", "steps"], list(runs.values()))] + (
        [Table(["time", "event", "what"], events)] if events else []) + open_now


def build(host: Host, params: RunbookParams, plan: bool = False) -> Document:
    """The host report: read-only checks (and with plan, a dry run of every section) plus what the host holds."""
    checked = run_sections(host, params, None if plan else ["preflight"], dry_run=True)
    records = ledger.read_records(host)
    state = xen.xen_state(host)
    banners = ["SIMULATED host: xenbook's sample machine; nothing here touched a real one."] if host.simulated else []
    banners += [f"Interrupted: {i['section']} / {i['step']} (run {i['run']}, started {i['started']}) never finished."
                for i in checked.interrupted]
    banners += [f"Ledger: {skipped}" for skipped in checked.ledger_skipped]
    parts = [Part("Sections and steps", [_steps_table(records, checked if plan else None)]),
             Part("Changes applied", _changes(host, records))]
    for section in sections().values():  # each section's own parts, in runbook order
        if section.report:
            parts += section.report(host, params, checked)
    parts.append(Part("Ledger: runs and events", _ledger(records, checked)))
    subtitle = (f"{host.target} · runs Xen as {state.role} · written {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}"
                f" by xenbook {ledger.version()}")
    return Document(f"Xen on {host.target}", subtitle, banners, parts)


def write(params: RunbookParams, out_file: str | None, plan: bool = False) -> tuple[Path, Path]:
    """Write the report of params.target as HTML at out_file and as Markdown beside it; return both paths."""
    with open_host(params.target, sudo=params.sudo, ssh_config=params.ssh_config) as host:
        doc = build(host, params, plan)
    html_path = Path(out_file or "xenbook-report.html")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    md_path = html_path.with_suffix(".md")
    html_path.write_text(to_html(doc))
    md_path.write_text(to_markdown(doc))
    return html_path, md_path
