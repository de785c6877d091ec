"""Facts about Xen domains: `xl list` (table and -l JSON), `xentop -b` and `xl uptime`.

Every parser takes the text a real host prints (the sample host prints the same formats) and returns plain dicts
or raises ValueError for text that is not that format."""

from __future__ import annotations

import gc
import json
import re

from xenbook.core.commands import Command
from xenbook.core.host import Host

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


_XENTOP_STATE = re.compile(r"^[-dsbcpr]{6}$")
_IO = ("vbd_oo", "vbd_rd", "vbd_wr", "vbd_rsect", "vbd_wsect")


def parse_xentop(text: str) -> list[dict]:
    """The last iteration of `xentop -b` as {name, state, cpu_seconds, cpu_percent, memory_kib, max_memory_kib
    (None: no limit), vcpus, nets, net_tx_kib, net_rx_kib, vbds, vbd_oo, vbd_rd, vbd_wr, vbd_rsect, vbd_wsect}.

    The format is tools/xentop/xentop.c's: a header line (NAME STATE ... SSID) per iteration (per domain with
    -r), then one row per domain of 19 fields, each printed with a width that grows for big numbers. NETTX(k) and
    NETRX(k) are the kilobytes sent and received over all the domain's vifs since it started; VBD_RD and VBD_WR
    its read and write requests, VBD_RSECT and VBD_WSECT the 512-byte sectors read and written, over all its
    disks; a VBD column is "-" when no disk's statistics could be read (None here). The lines -n (Net0 RX: ...),
    -x (VBD BlkBack ...) and -v (VCPUs(sec): ...) add under a row are skipped: they never have 19 fields with a
    state in the second."""
    blocks: list[list[list[str]]] = []
    for line in text.splitlines():
        words = line.replace("no limit", "no-limit").split()
        if words[:2] == ["NAME", "STATE"]:
            blocks.append([])
        elif blocks and len(words) == 19 and _XENTOP_STATE.match(words[1]):
            blocks[-1].append(words)
    if not blocks:
        raise ValueError("not `xentop -b` output: no NAME STATE header")
    rows = blocks[-1]
    if len(blocks) > 1 and all(len(b) <= 1 for b in blocks):  # -r: a header before every row
        flat = [b[0] for b in blocks if b]
        rows = flat[max(i for i, w in enumerate(flat) if w[0] == flat[0][0]):]
    out = []
    for w in rows:
        try:
            io = {k: None if v == "-" else int(v) for k, v in zip(_IO, w[13:18])}
            out.append({"name": w[0], "state": state_word(w[1]), "cpu_seconds": int(w[2]),
                        "cpu_percent": float(w[3]), "memory_kib": int(w[4]),
                        "max_memory_kib": None if w[6] == "no-limit" else int(w[6]), "vcpus": int(w[8]),
                        "nets": int(w[9]), "net_tx_kib": int(w[10]), "net_rx_kib": int(w[11]), "vbds": int(w[12]),
                        **io})
        except ValueError:
            raise ValueError(f"not a `xentop -b` row: {' '.join(w)!r}") from None
    return out


STATE_WORDS = {"running": "running", "runnable": "running", "blocked": "idle", "paused": "paused",
               "shutdown": "shutting down", "crashed": "crashed", "dying": "dying"}
SHUT_OFF = "shut off"


def user_state(word: str | None) -> str:
    """The state as virt-manager's users know it: running, idle (blocked: waiting for I/O or with nothing to do),
    paused, shutting down (the guest has shut down and the domain is not yet dying), crashed, dying; shut off for
    a guest that is defined (its configuration is in /etc/xen) but not running."""
    return STATE_WORDS.get(word or "", SHUT_OFF if word is None else word)


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
