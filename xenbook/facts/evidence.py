"""Evidence for the doctor: what a host's logs, tools and files say, as named sources of text lines.

Each source is read with the real command or file (journalctl, xl dmesg, dmesg, /var/log/xen/*.log, ip, systemctl,
the ledger ...). A source that cannot be read is evidence too: its note says why ("journalctl: not root"), and a
matcher never treats it as an empty log. Nothing here writes, and nothing raises for a missing tool or file."""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field

from xenbook.core.commands import Command
from xenbook.core.errors import HostError
from xenbook.core.host import Host
from xenbook.core.paths import STATE_DIR

LINE_CAP = 2000  # lines read of each boot's journal by default (the newest)
MAX_LINES = 100_000  # lines kept of any one source (the newest)
XEN_LOG_DIR = "/var/log/xen"
XEN_UNITS = ("proc-xen.mount", "xenstored.service", "xenconsoled.service", "xen-init-dom0.service",
             "xen-qemu-dom0-disk-backend.service", "xendomains.service")
LEDGER = f"{STATE_DIR}/ledger.jsonl"
PARTIAL = "not seeing messages from other users and the system"  # journalctl's hint (stderr) to other users


@dataclass
class Evidence:
    """sources: name -> lines; unreadable: name -> why it could not be read (a missing tool, no permission)."""

    sources: dict[str, list[str]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, lines: list[str] | str | None, why: str = "") -> None:
        if lines is None:
            self.unreadable[name] = why or "cannot be read"
            return
        self.sources[name] = (lines.splitlines() if isinstance(lines, str) else [str(x) for x in lines])[-MAX_LINES:]

    def fact(self, key: str, value: object) -> None:
        """One line "key=value" in the facts source (predicates over facts are regexes over these lines)."""
        shown = "" if value is None else "yes" if value is True else "no" if value is False else str(value)
        self.sources.setdefault("facts", []).append(f"{key}={shown}")

    def to_dict(self) -> dict:
        return {"sources": self.sources, "unreadable": self.unreadable}

    @classmethod
    def of(cls, data: dict) -> "Evidence":
        """Evidence from recorded excerpts: {source: text or lines}, and optionally unreadable: {source: why}."""
        data = dict(data)
        unreadable = dict(data.pop("unreadable", None) or {})
        ev = cls(unreadable=unreadable)
        for name, lines in data.items():
            ev.add(name, lines)
        return ev


def _why(result, program: str) -> str:
    text = (result.stderr or result.stdout).strip().splitlines()
    if result.returncode == 127:
        return f"{program} is not installed (or not on the PATH)"
    return f"{program} exited {result.returncode}" + (f": {text[-1]}" if text else "")


def run_lines(host: Host, ev: Evidence, name: str, *argv: str, keep_failure: bool = False) -> None:
    """The command's output as a source; its failure as a note (or, keep_failure, its error text as the source,
    where the error is itself the evidence: xl's "cannot init xl context")."""
    try:
        result = host.run(Command.of(*argv), timeout=60)
    except HostError as e:
        ev.add(name, None, f"{argv[0]}: {e}")
        return
    if result.ok:
        ev.add(name, result.stdout)
    elif keep_failure and result.returncode != 127:
        ev.add(name, (result.stdout + result.stderr).splitlines() + [f"(exit status {result.returncode})"])
    else:
        ev.add(name, None, _why(result, argv[0]))


def read_lines(host: Host, ev: Evidence, name: str, path: str) -> str | None:
    """The file's lines as a source (a note when missing or unreadable); its text, or None."""
    try:
        text = host.read_text(path)
    except HostError as e:
        ev.add(name, None, f"cannot read {path}: {e}")
        return None
    if text is None:
        ev.add(name, None, f"{path} does not exist")
        return None
    ev.add(name, text)
    return text


def journals(host: Host, ev: Evidence, lines: int = LINE_CAP) -> None:
    """The previous boot's journal and this one's (journalctl -b -1 / -b 0), the newest lines of each."""
    for name, boot in (("journal.prev", "-1"), ("journal.now", "0")):
        argv = ("journalctl", "-b", boot, "--no-pager", "-o", "short-monotonic", "-n", str(lines))
        try:
            result = host.run(Command.of(*argv), timeout=60)
        except HostError as e:
            ev.add(name, None, f"journalctl: {e}")
            continue
        if not result.ok:
            ev.add(name, None, _why(result, "journalctl"))
            continue
        ev.add(name, result.stdout)
        if PARTIAL in result.stderr:  # exit 0, but only this user's own messages
            ev.unreadable[f"{name} (partial)"] = ("journalctl shows only this user's messages: not root, nor in the "
                                                  "systemd-journal or adm group (run as root, or sudo: true)")


def xen_logs(host: Host, ev: Evidence, lines: int = 200) -> None:
    """The newest lines of each /var/log/xen/*.log (qemu-dm-NAME.log, xl-NAME.log, xen-hotplug.log), each line
    prefixed with its file's name."""
    try:
        names = host.listdir(XEN_LOG_DIR)
    except HostError as e:
        ev.add("xen.logs", None, f"cannot list {XEN_LOG_DIR}: {e}")
        return
    if names is None:
        ev.add("xen.logs", None, f"{XEN_LOG_DIR} does not exist (no guest was started on this host)")
        return
    out: list[str] = []
    for name in names:
        if not name.endswith(".log"):
            continue
        try:
            text = host.read_text(posixpath.join(XEN_LOG_DIR, name)) or ""
        except HostError as e:
            out.append(f"{name}: (cannot read: {e})")
            continue
        out += [f"{name}: {line}" for line in text.splitlines()[-lines:]]
    ev.add("xen.logs", out)


def units(host: Host, ev: Evidence) -> None:
    """"UNIT ACTIVE ENABLED" for Xen's units, as systemctl is-active and is-enabled say."""
    out = []
    for unit in XEN_UNITS:
        states = []
        for verb in ("is-active", "is-enabled"):
            try:
                result = host.run(Command.of("systemctl", verb, unit), timeout=30)
            except HostError as e:
                ev.add("units", None, f"systemctl: {e}")
                return
            if result.returncode == 127:
                ev.add("units", None, "systemctl is not installed (or not on the PATH)")
                return
            states.append((result.stdout.strip().splitlines() or ["unknown"])[0])
        out.append(f"{unit} {states[0]} {states[1]}")
    ev.add("units", out)


def network(host: Host, ev: Evidence) -> None:
    """ip -j link / addr / route as lines: "LINK kind=bridge master= state=UP", "LINK inet 192.0.2.4/24",
    "default dev xenbr0"."""
    rows: dict[str, list] = {}
    for what in ("link", "addr", "route"):
        argv = ["ip", "-j", "-d", "link", "show"] if what == "link" else ["ip", "-j", what, "show"]
        try:
            result = host.run(Command.of(*argv), timeout=30)
            rows[what] = json.loads(result.stdout) if result.ok else None
        except (HostError, ValueError):
            rows[what] = None
        if not isinstance(rows[what], list):
            ev.add(f"ip.{what}", None, "ip failed or printed no JSON")
            rows[what] = None
    if rows["link"] is not None:
        ev.add("ip.link", [f"{r.get('ifname')} kind={(r.get('linkinfo') or {}).get('info_kind', '')} "
                           f"master={r.get('master', '')} state={r.get('operstate', '')}"
                           for r in rows["link"] if isinstance(r, dict)])
    if rows["addr"] is not None:
        ev.add("ip.addr", [f"{r.get('ifname')} {a.get('family')} {a.get('local')}/{a.get('prefixlen')}"
                           for r in rows["addr"] if isinstance(r, dict)
                           for a in r.get("addr_info", []) if isinstance(a, dict)])
    if rows["route"] is not None:
        ev.add("ip.route", [f"{r.get('dst')} dev {r.get('dev')}" for r in rows["route"] if isinstance(r, dict)])


def ledger(host: Host, ev: Evidence) -> None:
    """"SECTION/STEP STATUS" of each finished step the ledger records, and the sections applied (a fact)."""
    try:
        text = host.read_text(LEDGER)
    except HostError as e:
        ev.add("ledger", None, f"cannot read {LEDGER}: {e}")
        return
    if text is None:
        ev.add("ledger", [])
        ev.fact("applied", "")
        return
    out, applied = [], []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("kind") == "end":
            out.append(f"{record.get('section')}/{record.get('step')} {record.get('status')}")
            if record.get("status") == "changed" and record.get("section") not in applied:
                applied.append(str(record.get("section")))
    ev.add("ledger", out)
    ev.fact("applied", ",".join(applied))
