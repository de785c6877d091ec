"""xl.cfg(5) and xl.conf(5) files, and the disk and vif specs inside them (xl-disk-configuration(5),
xl-network-configuration(5)), read as the sample's SIMULATED xl reads them."""

from __future__ import annotations

import hashlib
import re

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
