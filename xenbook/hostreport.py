"""`xenbook report`: what xenbook set up on a host, read from its files, its ledger and read-only checks.

Everything shown from a host file passes redact() first; diffs come back from the backups and the current files
only when their sha256 matches the digest the ledger recorded, so the ledger never needs to hold them."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable

from . import ledger
from .actions import RemoveFile, WriteFile
from .commands import Command
from .facts import domains as domfacts
from .facts import services, xen
from .hostpage import Block, Code, Document, Heading, Image, Part, Table
from .hosts.base import Host
from .params import RunbookParams
from .redact import redact
from .report import Report
from .steps.base import STATE_DIR

BOOT_FILES = (("/etc/default/grub", "GRUB 2 defaults"), ("/etc/grub.d/40_custom", "GRUB 2 custom entries"),
              ("/boot/grub/grub.cfg", "GRUB 2 generated menu"), ("/boot/grub/menu.lst", "GRUB legacy menu"),
              ("/boot/xen.cfg", "xen.efi configuration"), ("/boot/loader/entries/xenbook-xen.conf",
                                                           "systemd-boot entry"))
NETWORK_DIR = "/etc/systemd/network"
UNITS = ("xenstored.service", "xenconsoled.service", "xen-init-dom0.service", "xen-qemu-dom0-disk-backend.service",
         "xendomains.service", "systemd-networkd.service")
_BLOCK = re.compile(r"^# BEGIN xenbook (\S+)\n.*?^# END xenbook \1$\n?", re.M | re.S)
_GRUB_ENTRY = re.compile(r"^menuentry [^\n]*--id xenbook-xen[^\n]*\{\n.*?^\}$\n?", re.M | re.S)
_XEN_ARGS = (re.compile(r'^GRUB_CMDLINE_XEN_DEFAULT="([^"]*)"', re.M),
             re.compile(r"^\s*multiboot2?\s+\S*xen\S*\s+(.*)$", re.M),
             re.compile(r"^\s*kernel\s+\S*xen\.gz\s+(.*)$", re.M), re.compile(r"^options=(.*)$", re.M))

# The dashboard hook: 60-manage saves snapshot charts as NAME.svg or NAME.png in DASHBOARD_DIR (NAME.txt, when
# present, is the caption), or registers a provider here; either way they appear in the report's last part.
DASHBOARD_DIR = f"{STATE_DIR}/dashboard"
CHART_PROVIDERS: list[Callable[[Host], list[Image]]] = []


def dashboard_charts(host: Host) -> list[Image]:
    """The dashboard's snapshot charts on host (files in DASHBOARD_DIR) and from every registered provider."""
    charts = []
    for name in host.listdir(DASHBOARD_DIR) or []:
        stem, _, ext = name.rpartition(".")
        mime = {"svg": "image/svg+xml", "png": "image/png"}.get(ext)
        data = host.read_bytes(f"{DASHBOARD_DIR}/{name}") if mime else None
        if data:
            caption = (host.read_text(f"{DASHBOARD_DIR}/{stem}.txt") or stem).strip()
            charts.append(Image(caption, mime, data))
    for provider in CHART_PROVIDERS:
        charts += provider(host)
    return charts


def _bytes(host: Host, path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        return host.read_bytes(path)
    except Exception:  # noqa: BLE001 (a root-only or odd file is left out, not fatal for a report)
        return None


def _text(host: Host, path: str) -> str | None:
    data = _bytes(host, path)
    return None if data is None else data.decode("utf-8", "surrogateescape")


def managed_parts(text: str, whole: bool = False) -> str:
    """xenbook's blocks and its GRUB menu entry in text (the whole text when whole and it names xenbook)."""
    if whole and "xenbook" in text:
        return text
    rest = _BLOCK.sub("", text)
    return "".join(m.group(0) for m in _BLOCK.finditer(text)) + "".join(m.group(0) for m in _GRUB_ENTRY.finditer(rest))


def xen_command_line(texts: list[str]) -> str:
    """The Xen command line the boot configuration gives, from the first file that sets one."""
    for pattern in _XEN_ARGS:
        for text in texts:
            found = pattern.search(text)
            if found:
                return _args(found.group(1))
    return ""


def applied_diffs(host: Host, records: list[dict]) -> dict[tuple[str, str], tuple[str | None, str]]:
    """(end id, path) -> (diff or None, why not) for every write the ledger recorded, from backups and files."""
    texts: dict[str, bytes] = {}
    ends = [r for r in records if r["kind"] == "end" and r.get("writes")]
    for w in (w for r in ends for w in r["writes"]):
        for data in (_bytes(host, w.get("before")), _bytes(host, w["path"])):
            if data is not None:
                texts[ledger.digest(data)] = data
    out: dict[tuple[str, str], tuple[str | None, str]] = {}
    last_after: dict[str, str] = {}  # path -> sha256 of what the previous write left there
    for r in ends:
        for w in r["writes"]:
            before = (b"" if w.get("created") else _bytes(host, w["before"]) if w.get("before")
                      else texts.get(last_after.get(w["path"], "")))
            after = b"" if w.get("removed") else texts.get(w["after"])
            last_after[w["path"]] = w["after"]
            if before is None or after is None:
                why = ("the file changed since and no backup holds that version" if host.exists(w["path"]) else
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
                    last[(section, step)] = (status, r["time"])
        if r["kind"] == "interrupted":
            last[(r["section"], r["step"])] = ("interrupted", r["time"])
    now = {(s.section, s.name): s.status for s in plan.steps} if plan else {}
    keys = list(now) + [k for k in last if k not in now]
    head = ["section", "step", "last recorded", "when"] + (["plan now"] if plan else [])
    return Table(head, [[k[0], k[1], *last.get(k, ("", ""))] + ([now.get(k, "")] if plan else []) for k in keys])


def _preflight(report: Report) -> list[Block]:
    rows = [[s.name, s.value, s.verdict or s.status, s.reason + (f" (what to do: {s.remedy})" if s.remedy and
                                                                 s.verdict != "ok" else "")]
            for s in report.steps if s.section == "preflight"]
    facts = [[key, redact(value)] for key, value in flatten(report.facts)]
    return [Table(["check", "found", "verdict", "detail"], rows), Table(["fact", "value"], facts)]


def flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    """Nested facts as (dotted.key, text) rows; lists become comma lists."""
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in flatten(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(value, (list, tuple)):
        return [(prefix, ", ".join(str(v) for v in value))]
    return [(prefix, "" if value is None else str(value))]


def _args(text: str) -> str:
    return text.strip().removeprefix("placeholder").strip()


def _boot(host: Host) -> list[Block]:
    blocks: list[Block] = []
    texts = []
    for path, what in BOOT_FILES:
        text = _text(host, path)
        part = managed_parts(text, whole=path.endswith((".cfg", ".conf")) and "grub" not in path) if text else ""
        if part:
            texts.append(part)
            blocks.append(Code(f"{what}: {path} (xenbook's part)", redact(part)))
    configured = xen_command_line(texts)
    info = xen.xl_info(host) if xen.xen_state(host).dom0 else None
    running = getattr(info, "xen_commandline", "") if info else ""
    rows = [["configured (boot files)", configured or "none found"],
            ["running now", _args(running) or ("not running under Xen" if info is None else "unknown")],
            ["the kernel's command line now", _args(_text(host, "/proc/cmdline") or "")]]
    return [Table(["Xen command line", "value"], rows)] + (blocks or ["No xenbook boot entry was found."])


def _dom0(host: Host) -> list[Block]:
    rows = []
    active = host.run(Command.of("systemctl", "is-active", *UNITS)).stdout.split()
    for unit, state in zip(UNITS, active + [""] * len(UNITS)):
        u = services.unit_state(host, unit)
        rows.append([unit, "installed" if u.installed else "not installed", "enabled" if u.enabled else "disabled",
                     state])
    conf = managed_parts(_text(host, "/etc/xen/xl.conf") or "")
    return [Table(["unit", "package", "at boot", "now"], rows)] + (
        [Code("/etc/xen/xl.conf (xenbook's part)", redact(conf))] if conf else ["xl.conf has no xenbook settings."])


def _bridges(host: Host) -> list[Block]:
    blocks: list[Block] = []
    for name in host.listdir(NETWORK_DIR) or []:
        text = _text(host, f"{NETWORK_DIR}/{name}") or ""
        if "xenbook" in name or "Managed by xenbook" in text:
            blocks.append(Code(f"{NETWORK_DIR}/{name}", redact(text)))
    return blocks or ["No bridge written by xenbook."]


def _guests(host: Host) -> list[Block]:
    try:
        running = {d["name"]: d for d in domfacts.domains(host) or []}
    except ValueError:
        running = {}
    blocks: list[Block] = []
    rows = []
    for name in host.listdir("/etc/xen") or []:
        text = _text(host, f"/etc/xen/{name}") if name.endswith(".cfg") else None
        if text and "Managed by xenbook" in text:
            guest = name[:-4]
            d = running.get(guest)
            rows.append([guest, d["state"] if d else "not running", str(d["domid"]) if d else "",
                         str(d["memory_mib"]) if d else "", str(d["vcpus"]) if d else ""])
            blocks.append(Code(f"/etc/xen/{name}", redact(text)))
    return ([Table(["guest", "state", "domid", "memory (MiB)", "vCPUs"], rows)] + blocks) if rows else \
        ["No guest configuration written by xenbook."]


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
    from .sections import run_sections
    checked = run_sections(host, params, None if plan else ["preflight"], dry_run=True)
    records = ledger.read_records(host)
    state = xen.xen_state(host)
    banners = ["SIMULATED host: xenbook's sample machine; nothing here touched a real one."] if host.simulated else []
    banners += [f"Interrupted: {i['section']} / {i['step']} (run {i['run']}, started {i['started']}) never finished."
                for i in checked.interrupted]
    parts = [Part("Preflight: readiness checks (read-only, now)", _preflight(checked)),
             Part("Sections and steps", [_steps_table(records, checked if plan else None)]),
             Part("Changes applied", _changes(host, records)), Part("Boot: the Xen entry", _boot(host)),
             Part("dom0: services and xl.conf", _dom0(host)), Part("Bridges", _bridges(host)),
             Part("Guests", _guests(host)),
             Part("Dashboard snapshots", list(dashboard_charts(host)) or
                  ["No dashboard snapshot on the host (the manage section saves them)."]),
             Part("Ledger: runs and events", _ledger(records, checked))]
    subtitle = (f"{host.target} · runs Xen as {state.role} · written {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}"
                f" by xenbook {ledger.version()}")
    return Document(f"Xen on {host.target}", subtitle, banners, parts)


def write(params: RunbookParams, out_file: str | None, plan: bool = False) -> tuple[Path, Path]:
    """Write the report of params.target as HTML at out_file and as Markdown beside it; return both paths."""
    from .hostpage import to_html, to_markdown
    from .targets import open_host
    with open_host(params.target, sudo=params.sudo, ssh_config=params.ssh_config) as host:
        doc = build(host, params, plan)
    html_path = Path(out_file or "xenbook-report.html")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    md_path = html_path.with_suffix(".md")
    html_path.write_text(to_html(doc))
    md_path.write_text(to_markdown(doc))
    return html_path, md_path
