"""The dashboard's data: the domains table (xl list -l, xl list, xl uptime) and CPU and memory over time (xentop,
xl info), kept as a bounded history of samples."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from xenbook.core.commands import Command
from xenbook.core.errors import HostError
from xenbook.core.host import Host
from xenbook.facts import domains as domfacts
from xenbook.facts.xen import parse_xl_info

XENTOP = ("xentop", "-b", "-f", "-i", "2", "-d", "1")  # two tables a second apart: the second has CPU(%)
COLUMNS = ("name", "id", "state", "memory (MiB)", "vCPUs", "uptime", "type", "CPU %")


@dataclass
class Sample:
    """One refresh: each domain's CPU share and memory, and the host's free memory."""

    time: float
    cpu: dict[str, float]  # domain name -> CPU % (of one CPU, as xentop counts)
    memory: dict[str, int]  # domain name -> MiB
    free_mib: int | None = None
    total_mib: int | None = None


def _run(host: Host, *argv: str):
    return host.run(Command.of(*argv))


def read_domains(host: Host) -> tuple[list[dict], str]:
    """(rows of name, domid, state, memory_mib, vcpus, uptime, type; what they were read from)."""
    listed = _run(host, "xl", "list")
    if not listed.ok:
        tail = (listed.stderr or listed.stdout).strip().splitlines()[-1:] or [""]
        raise HostError(f"xl list exited {listed.returncode}: {tail[0]}")
    rows = {d["name"]: d for d in domfacts.parse_xl_list(listed.stdout)}
    source = ["xl list"]
    detail = _run(host, "xl", "list", "-l")
    try:
        details = {d["name"]: d for d in domfacts.parse_xl_list_json(detail.stdout)} if detail.ok else {}
        source[:0] = ["xl list -l"] if detail.ok else []
    except ValueError:  # the JSON output is experimental upstream: the table alone will do
        details = {}
    for name, d in details.items():
        if name in rows:
            rows[name].update({k: d[k] for k in ("type", "memory_mib", "vcpus") if d.get(k) is not None})
    up = _run(host, "xl", "uptime")
    try:
        uptimes = {d["name"]: d["uptime"] for d in domfacts.parse_xl_uptime(up.stdout)} if up.ok else {}
        source += ["xl uptime"] if up.ok else []
    except ValueError:
        uptimes = {}
    for name, row in rows.items():
        row["uptime"] = uptimes.get(name)
    return sorted(rows.values(), key=lambda d: d["domid"]), " + ".join(source)


def read_sample(host: Host, domains: list[dict] | None = None) -> Sample:
    """CPU % and memory per domain from xentop (memory only, from domains, when xentop fails), free memory from xl."""
    now = time.time()
    top = _run(host, *XENTOP)
    try:
        rows = domfacts.parse_xentop(top.stdout) if top.ok else None
    except ValueError:
        rows = None
    if rows is not None:
        cpu = {r["name"]: r["cpu_percent"] for r in rows}
        memory = {r["name"]: r["memory_kib"] // 1024 for r in rows}
    else:
        cpu, memory = {}, {d["name"]: d["memory_mib"] for d in domains or []}
    info = _run(host, "xl", "info")
    parsed = parse_xl_info(info.stdout) if info.ok else None
    return Sample(now, cpu, memory, parsed.free_memory_mib if parsed else None,
                  parsed.total_memory_mib if parsed else None)


@dataclass
class Dashboard:
    """The domains of one host and a bounded history of samples; refresh() reads the host once more."""

    host: Host
    refresh_seconds: float = 2.0
    keep: int = 300
    samples: deque = field(default_factory=deque)
    domains: list[dict] = field(default_factory=list)
    source: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self):
        self.samples = deque(self.samples, maxlen=self.keep)

    def refresh(self) -> Sample:
        """Read the table and one sample now; the table gets each domain's CPU % from that sample."""
        with self.lock:
            self.domains, self.source = read_domains(self.host)
            sample = read_sample(self.host, self.domains)
            for row in self.domains:
                row["cpu_percent"] = sample.cpu.get(row["name"])
            self.samples.append(sample)
            return sample

    def collect(self, count: int, sleep: Callable[[float], None] = time.sleep) -> None:
        """Refresh until the history holds count samples, refresh_seconds apart."""
        while len(self.samples) < min(count, self.keep):
            if self.samples:
                sleep(self.refresh_seconds)
            self.refresh()

    def names(self) -> list[str]:
        """Every domain seen in the history, in the order they first appeared."""
        seen: dict[str, None] = {}
        for s in self.samples:
            seen.update(dict.fromkeys(s.memory))
        return list(seen)

    def rows(self) -> list[list[str]]:
        """The table's rows as text, in COLUMNS order."""
        def cell(value, fmt="{}"):
            return "" if value is None else fmt.format(value)
        return [[d["name"], str(d["domid"]), d["state"], str(d["memory_mib"]), str(d["vcpus"]),
                 domfacts.format_uptime(d["uptime"]).strip() if d.get("uptime") is not None else "",
                 cell(d.get("type")), cell(d.get("cpu_percent"), "{:.1f}")] for d in self.domains]

    def to_dict(self) -> dict:
        """The table and the history as plain data (the snapshot's JSON)."""
        return {"source": self.source, "columns": list(COLUMNS), "rows": self.rows(),
                "samples": [{"time": s.time, "cpu": s.cpu, "memory": s.memory, "free_mib": s.free_mib,
                             "total_mib": s.total_mib} for s in self.samples]}
