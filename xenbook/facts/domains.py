"""Facts about Xen domains: `xl list` (table and -l JSON), `xentop -b`, xl.cfg files and what Xen gives dom0.

Every parser takes the text a real host prints (the sample host prints the same formats) and returns plain dicts
or raises ValueError for text that is not that format."""

from __future__ import annotations

import gc
import hashlib
import json
import re

from ..commands import Command
from ..hosts.base import Host

STATE_LETTERS = {"r": "running", "b": "blocked", "p": "paused", "s": "shutdown", "c": "crashed", "d": "dying"}
_LIST_ROW = re.compile(r"^(?P<name>\S.*?)\s+(?P<id>\d+)\s+(?P<mem>\d+)\s+(?P<vcpus>\d+)\s+(?P<state>[-rbpscd?]{6})"
                       r"\s+(?P<time>\d+(?:\.\d+)?)")


def state_word(letters: str) -> str:
    """running, blocked, paused, shutdown, crashed or dying from xl's or xentop's state letters ("-b----")."""
    return next((STATE_LETTERS[c] for c in "dscprb" if c in letters), "runnable")


def parse_xl_list(text: str) -> list[dict]:
    """`xl list` rows as {name, domid, memory_mib, vcpus, state, cpu_seconds, type (None: the table omits it)}."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Name") or "VCPUs" not in lines[0]:
        raise ValueError("not `xl list` output: the header line is missing")
    out = []
    for line in lines[1:]:
        m = _LIST_ROW.match(line)
        if m is None:
            if line.strip():
                raise ValueError(f"not an `xl list` row: {line!r}")
            continue
        out.append({"name": m["name"], "domid": int(m["id"]), "memory_mib": int(m["mem"]), "vcpus": int(m["vcpus"]),
                    "state": state_word(m["state"]), "cpu_seconds": float(m["time"]), "type": None, "uptime": None})
    return out


def parse_xl_list_json(text: str) -> list[dict]:
    """`xl list -l` (libxl's JSON array of {domid, config}) as {name, domid, type, memory_mib, vcpus, ...}."""
    collecting = gc.isenabled()
    gc.disable()  # decoded JSON holds no cycles; for thousands of domains the collector's passes cost ~15%
    try:
        data = json.loads(text)
    finally:
        if collecting:
            gc.enable()
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError("not `xl list -l` output: expected a JSON array")
    out = []
    for item in data:
        config = item.get("config") or {}
        c_info, b_info = config.get("c_info") or {}, config.get("b_info") or {}
        target = b_info.get("target_memkb") or b_info.get("max_memkb")
        out.append({"name": c_info.get("name"), "domid": item.get("domid"), "type": c_info.get("type", "pv"),
                    "memory_mib": target // 1024 if isinstance(target, int) else None,
                    "max_memory_mib": b_info["max_memkb"] // 1024 if isinstance(b_info.get("max_memkb"), int) else None,
                    "vcpus": b_info.get("max_vcpus"), "state": None, "uptime": None})
    return out


def parse_xentop(text: str) -> list[dict]:
    """The last iteration of `xentop -b` as {name, state, cpu_seconds, cpu_percent, memory_kib, max_memory_kib
    (None: no limit), vcpus, nets, vbds, net_tx_kib, net_rx_kib}."""
    blocks: list[list[list[str]]] = []
    for line in text.splitlines():
        words = line.replace("no limit", "no-limit").split()
        if words[:2] == ["NAME", "STATE"]:
            blocks.append([])
        elif words and blocks and len(words) >= 19:
            blocks[-1].append(words)
    if not blocks:
        raise ValueError("not `xentop -b` output: no NAME STATE header")
    out = []
    for w in blocks[-1]:
        out.append({"name": w[0], "state": state_word(w[1]), "cpu_seconds": int(w[2]), "cpu_percent": float(w[3]),
                    "memory_kib": int(w[4]), "max_memory_kib": None if w[6] == "no-limit" else int(w[6]),
                    "vcpus": int(w[8]), "nets": int(w[9]), "net_tx_kib": int(w[10]), "net_rx_kib": int(w[11]),
                    "vbds": int(w[12])})
    return out


_UPTIME_ROW = re.compile(r"^(?P<name>\S.*?)\s+(?P<id>\d+)\s+(?:(?P<days>\d+) days?,\s+)?(?P<h>\d+):(?P<m>\d\d)"
                        r"(?::(?P<s>\d\d))?\s*$")


def parse_xl_uptime(text: str) -> list[dict]:
    """`xl uptime` rows ("Name ID Uptime", uptime as [D day(s), ]H:MM:SS) as {name, domid, uptime (seconds)}."""
    lines = text.splitlines()
    if not lines or lines[0].split()[:3] != ["Name", "ID", "Uptime"]:
        raise ValueError("not `xl uptime` output: the header line is missing")
    out = []
    for line in lines[1:]:
        m = _UPTIME_ROW.match(line)
        if m is None:
            if line.strip():
                raise ValueError(f"not an `xl uptime` row: {line!r}")
            continue
        seconds = int(m["days"] or 0) * 86400 + int(m["h"]) * 3600 + int(m["m"]) * 60 + int(m["s"] or 0)
        out.append({"name": m["name"], "domid": int(m["id"]), "uptime": seconds})
    return out


def format_uptime(seconds: int) -> str:
    """Seconds as `xl uptime` prints them: [D day(s), ]H:MM:SS."""
    days, rest = divmod(int(seconds), 86400)
    clock = f"{rest // 3600:2d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return (f"{days} day{'s' if days > 1 else ''}, " if days else "") + clock


def domains(host: Host) -> list[dict] | None:
    """The running domains from `xl list`, or None when xl cannot answer (not dom0, xl missing)."""
    result = host.run(Command.of("xl", "list"))
    return parse_xl_list(result.stdout) if result.ok else None


# xl.cfg(5): `key = value` with strings, numbers and [lists], '#' comments, ';' or newlines between settings

_TOKEN = re.compile(r"""(?P<space>[ \t\r]+)|(?P<comment>\#[^\n]*)|(?P<nl>\n)|(?P<semi>;)|(?P<op>\+?=)
    |(?P<open>\[)|(?P<close>\])|(?P<comma>,)|(?P<str>"(?:[^"\\\n]|\\.)*"|'[^'\n]*')
    |(?P<num>0x[0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?)|(?P<id>[A-Za-z_][A-Za-z0-9_.]*)""", re.X)


def _tokens(text: str, name: str):
    line, pos = 1, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"{name}:{line}: config parsing error near `{text[pos:pos + 1]}': syntax error")
        kind, value = m.lastgroup, m.group()
        if kind not in ("space", "comment"):
            yield kind, value, line
        line += value.count("\n")
        pos = m.end()
    yield "nl", "", line


def _value(kind: str, text: str):
    if kind == "str":
        body = text[1:-1]
        return re.sub(r"\\(.)", r"\1", body) if text[0] == '"' else body
    return int(text, 0) if re.fullmatch(r"0x[0-9a-fA-F]+|[0-9]+", text) else float(text)


def parse_xl_cfg(text: str, name: str = "config") -> dict:
    """An xl.cfg (or xl.conf) as {key: str | int | float | list}; ValueError with xl's "config parsing error" text."""
    out: dict = {}
    tokens = list(_tokens(text, name))
    i = 0

    def fail(at: int) -> ValueError:
        _kind, value, line = tokens[min(at, len(tokens) - 1)]
        return ValueError(f"{name}:{line}: config parsing error near `{value or 'end of line'}': syntax error")

    while i < len(tokens):
        if tokens[i][0] in ("nl", "semi"):
            i += 1
            continue
        if tokens[i][0] != "id" or i + 2 >= len(tokens) or tokens[i + 1][0] != "op":
            raise fail(i)
        key, op, i = tokens[i][1], tokens[i + 1][1], i + 2
        if tokens[i][0] in ("str", "num"):
            value, i = _value(tokens[i][0], tokens[i][1]), i + 1
        elif tokens[i][0] == "open":
            value, i = [], i + 1
            while tokens[i][0] != "close":
                if tokens[i][0] == "nl" and tokens[i][1] == "" and i == len(tokens) - 1:
                    raise fail(i)
                if tokens[i][0] in ("nl", "comma"):
                    i += 1
                elif tokens[i][0] in ("str", "num"):
                    value.append(_value(tokens[i][0], tokens[i][1]))
                    i += 1
                else:
                    raise fail(i)
            i += 1
        else:
            raise fail(i)
        if tokens[i][0] not in ("nl", "semi"):
            raise fail(i)
        old = out.get(key)
        out[key] = (old if isinstance(old, list) else [old] if old is not None else []) + (
            value if isinstance(value, list) else [value]) if op == "+=" else value
    return out


# xl-disk-configuration(5) and xl-network-configuration(5) specs

def disk_spec(spec: str) -> dict:
    """An xl-disk-configuration(5) spec as a dict: positional target,format,vdev,access or keywords (target= last)."""
    out = {"target": "", "format": "raw", "vdev": "", "access": "rw", "backend": "phy", "cdrom": False}
    positional, rest = ["target", "format", "vdev", "access"], spec
    while rest:
        part, sep, rest = rest.partition(",")
        part = part.strip()
        if part.startswith("target="):
            out["target"], rest = (part + sep + rest)[7:].strip(), ""
        elif "=" in part:
            key, value = part.split("=", 1)
            out["cdrom"] |= key == "devtype" and value == "cdrom"
            out[key.strip()] = value.strip()
        elif part in ("cdrom", "devtype=cdrom"):
            out["cdrom"] = True
        elif positional:
            if positional[0] == "format" and part not in ("raw", "qcow", "qcow2", "vhd", "qed", "empty", ""):
                positional.pop(0)  # the legacy target,vdev,access form
            out[positional.pop(0)] = part
    for prefix in ("phy:", "file:", "tap:", "aio:", "tapdisk:", "tap2:", "ioemu:", "raw:", "qcow2:", "vhd:"):
        if out["target"].startswith(prefix):
            out["format"] = prefix[:-1] if prefix in ("raw:", "qcow2:", "vhd:") else out["format"]
            out["target"] = out["target"][len(prefix):]
    if ":" in out["vdev"]:
        out["vdev"], kind = out["vdev"].split(":", 1)
        out["cdrom"] |= kind == "cdrom"
    out["backend"] = "qdisk" if out["format"] in ("qcow", "qcow2", "vhd", "qed") else out.get("backendtype", "phy")
    return out


def vif_spec(spec: str, name: str, n: int, default_bridge: str = "xenbr0") -> dict:
    """An xl-network-configuration(5) spec as {mac, bridge, script}; a missing mac is derived from name and n."""
    pairs = dict(p.strip().split("=", 1) for p in spec.split(",") if "=" in p)
    digest = hashlib.sha256(f"{name}/{n}".encode()).digest()
    mac = pairs.get("mac") or "00:16:3e:%02x:%02x:%02x" % (digest[0] & 0x7F, digest[1], digest[2])
    script = pairs.get("script", "vif-bridge")
    return {"mac": mac.lower(), "bridge": pairs.get("bridge", default_bridge),
            "script": script if script.startswith("/") else f"/etc/xen/scripts/{script}"}



# what Xen gives dom0 (xen-command-line: dom0_mem, dom0_max_vcpus)

def _size_mib(text: str, total_mib: int) -> int | None:
    m = re.fullmatch(r"(-?)(\d+)([bBkKmMgGtT%]?)", text)
    if m is None:
        return None
    number, unit = int(m[2]), m[3].upper()
    mib = total_mib * number // 100 if unit == "%" else number * {"B": 1, "K": 1024, "": 1024, "M": 1024 ** 2,
                                                                 "G": 1024 ** 3, "T": 1024 ** 4}[unit] // 1024 ** 2
    return total_mib - mib if m[1] else mib


def dom0_allocation(xen_cmdline: str, total_mib: int, cpus: int) -> tuple[int, int | None, int]:
    """(dom0's memory in MiB, its max: or None, its vCPUs) from Xen's command line; without dom0_mem Xen keeps
    min(1/16 of memory, 128 MiB) for itself and gives dom0 the rest; without dom0_max_vcpus dom0 gets every CPU."""
    amount = low = high = None
    for word in xen_cmdline.split():
        if word.startswith("dom0_mem="):
            amount = low = high = None
            for part in word.split("=", 1)[1].split(","):
                kind, _, size = part.rpartition(":")
                value = _size_mib(size, total_mib)
                if kind == "min":
                    low = value
                elif kind == "max":
                    high = value
                else:
                    amount = value
    memory = amount if amount is not None else total_mib - min(total_mib // 16, 128)
    memory = min(memory, high) if high is not None else memory
    memory = max(memory, low) if low is not None else memory
    vcpus = cpus
    for word in xen_cmdline.split():
        m = re.fullmatch(r"dom0_max_vcpus=(\d+)(?:-(\d+))?", word)
        if m:
            vcpus = min(cpus, int(m[2] or m[1]))
    return memory, high, vcpus
