"""The dashboard's data: every defined guest, running (xl list -l, xl list, xl uptime) or shut off (its xl.cfg in
/etc/xen), and CPU, memory, disk and network I/O over time (xentop, xl info), kept as a bounded history of samples."""

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
from xenbook.facts.xlcfg import guest_configs
from xenbook.sections.domu.steps import MANAGED

XENTOP = ("xentop", "-b", "-f", "-i", "2", "-d", "1")  # two tables a second apart: the second has CPU(%)
COLUMNS = ("name", "id", "state", "memory (MiB)", "vCPUs", "uptime", "type", "CPU %", "config")
IO = ("disk_read", "disk_write", "net_rx", "net_tx")  # KiB since the domain started (xentop), per domain
SECTOR_KIB = 0.5  # VBD_RSECT and VBD_WSECT count 512-byte sectors


@dataclass
class Sample:
    """One refresh: each domain's CPU share and memory, and the host's free memory."""

    time: float
    cpu: dict[str, float]  # domain name -> CPU % (of one CPU, as xentop counts)
    memory: dict[str, int]  # domain name -> MiB
    free_mib: int | None = None
    total_mib: int | None = None
    io: dict[str, dict[str, float]] = field(default_factory=dict)  # IO name -> domain name -> KiB so far


def _run(host: Host, *argv: str):
    return host.run(Command.of(*argv))


def read_domains(host: Host, configs: tuple[list, list] | None = None) -> tuple[list[dict], str]:
    """(rows of name, domid, state (None: shut off), memory_mib, vcpus, uptime, type, config, managed; what they
    were read from): the running domains by id, then the guests whose configs in /etc/xen are not running. configs:
    what guest_configs(host) read already."""
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
    running = sorted(rows.values(), key=lambda d: d["domid"])
    configs, _skipped = configs or guest_configs(host)
    for row in running:
        row["config"] = next((c.path for c in configs if c.name == row["name"]), None)
        row["managed"] = any(c.name == row["name"] and c.text.startswith(MANAGED) for c in configs)
    off = [{"name": c.name, "domid": None, "memory_mib": c.memory_mib, "vcpus": c.vcpus, "state": None,
            "cpu_seconds": None, "type": c.type, "uptime": None, "config": c.path,
            "managed": c.text.startswith(MANAGED)}
           for c in _one_per_name(configs) if c.name not in rows]
    return running + off, " + ".join(source + ["/etc/xen/*.cfg"])


def _one_per_name(configs: list) -> list:
    """One configuration per guest name: /etc/xen/NAME.cfg when it names NAME (what xl create and the start
    action take), else the first by path."""
    chosen: dict = {}
    for c in sorted(configs, key=lambda c: (c.path != f"/etc/xen/{c.name}.cfg", c.path)):
        chosen.setdefault(c.name, c)
    return sorted(chosen.values(), key=lambda c: c.name)


def read_sample(host: Host, domains: list[dict] | None = None) -> Sample:
    """CPU % and memory per domain from xentop (memory only, from domains, when xentop fails), free memory from xl."""
    now = time.time()
    top = _run(host, *XENTOP)
    try:
        rows = domfacts.parse_xentop(top.stdout) if top.ok else None
    except ValueError:
        rows = None
    io: dict[str, dict[str, float]] = {k: {} for k in IO}
    if rows is not None:
        cpu = {r["name"]: r["cpu_percent"] for r in rows}
        memory = {r["name"]: r["memory_kib"] // 1024 for r in rows}
        for r in rows:
            for key, column, scale in (("disk_read", "vbd_rsect", SECTOR_KIB), ("disk_write", "vbd_wsect", SECTOR_KIB),
                                       ("net_rx", "net_rx_kib", 1), ("net_tx", "net_tx_kib", 1)):
                if r.get(column) is not None:
                    io[key][r["name"]] = r[column] * scale
    else:
        cpu, memory = {}, {d["name"]: d["memory_mib"] for d in domains or [] if d.get("domid") is not None}
    info = _run(host, "xl", "info")
    parsed = parse_xl_info(info.stdout) if info.ok else None
    return Sample(now, cpu, memory, parsed.free_memory_mib if parsed else None,
                  parsed.total_memory_mib if parsed else None, io)


@dataclass
class Dashboard:
    """The domains of one host and a bounded history of samples; refresh() reads the host once more."""

    host: Host
    refresh_seconds: float = 2.0
    keep: int = 300
    samples: deque = field(default_factory=deque)
    domains: list[dict] = field(default_factory=list)
    source: str = ""
    skipped: list = field(default_factory=list)  # (path, why) of the /etc/xen/*.cfg files that are no guests
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self):
        self.samples = deque(self.samples, maxlen=self.keep)

    def refresh(self) -> Sample:
        """Read the table and one sample now; the table gets each domain's CPU % from that sample."""
        with self.lock:
            configs = guest_configs(self.host)
            self.domains, self.source = read_domains(self.host, configs)
            self.skipped = configs[1]
            sample = read_sample(self.host, self.domains)
            for row in self.domains:
                row["cpu_percent"] = sample.cpu.get(row["name"])
                row["rates"] = self.rates(row["name"])
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

    def rates(self, name: str) -> dict[str, float]:
        """KiB/s of each IO between the last two samples that both have the domain (a restarted domain's counters
        begin again at 0: no rate then)."""
        if len(self.samples) < 2:
            return {}
        before, last = self.samples[-2], self.samples[-1]
        seconds = last.time - before.time
        out = {}
        for key in IO:
            a, b = before.io.get(key, {}).get(name), last.io.get(key, {}).get(name)
            if a is not None and b is not None and b >= a and seconds > 0:
                out[key] = (b - a) / seconds
        return out

    def series(self, key: str, name: str) -> list[tuple[float, float]]:
        """(time, KiB/s) of IO key for one domain over the history: one point per pair of samples."""
        points = []
        for before, last in zip(list(self.samples), list(self.samples)[1:]):
            a, b = before.io.get(key, {}).get(name), last.io.get(key, {}).get(name)
            if a is not None and b is not None and b >= a and last.time > before.time:
                points.append((last.time, (b - a) / (last.time - before.time)))
        return points

    def rows(self) -> list[list[str]]:
        """The table's rows as text, in COLUMNS order: running domains by id, then the shut-off guests."""
        def cell(value, fmt="{}"):
            return "" if value is None else fmt.format(value)
        return [[d["name"], cell(d["domid"]), domfacts.user_state(d["state"]), cell(d["memory_mib"]),
                 cell(d["vcpus"]), domfacts.format_uptime(d["uptime"]).strip() if d.get("uptime") is not None else "",
                 cell(d.get("type")), cell(d.get("cpu_percent"), "{:.1f}"),
                 (d.get("config") or "") + (" (xenbook)" if d.get("managed") else "")] for d in self.domains]

    def to_dict(self) -> dict:
        """The table and the history as plain data (the snapshot's JSON)."""
        return {"source": self.source, "columns": list(COLUMNS), "rows": self.rows(),
                "samples": [{"time": s.time, "cpu": s.cpu, "memory": s.memory, "free_mib": s.free_mib,
                             "total_mib": s.total_mib, "io": s.io} for s in self.samples]}
