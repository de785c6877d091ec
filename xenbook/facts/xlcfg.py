"""Which files in /etc/xen are guests: xl.cfg(5) domain configurations read as xl reads them.

xl.cfg(5): a configuration is `KEY=VALUE` pairs separated by newlines or ';', values are "strings" or 'strings',
numbers (decimal, 0octal, 0xhex) or [lists] (heterogeneous, nested), '#' starts a comment, and `name="NAME"` is
the one mandatory key. So a guest is a /etc/xen/*.cfg file that parses that way and names its domain; xen.efi's
configuration (`efi-xen.cfg`, an INI file with [global] and [xen] sections), xl.conf, cpupool files, the xlexample.*
files (no .cfg) and the scripts/ and auto/ folders are not."""

from __future__ import annotations

import re
from dataclasses import dataclass

from xenbook.core.errors import HostError
from xenbook.core.host import Host

XEN_DIR = "/etc/xen"
MAX_BYTES = 1 << 20  # a guest's configuration is a few hundred bytes; a bigger file is not one
MAX_DEPTH = 16  # xl.cfg(5)'s lists nest two levels (vnuma, cpus lists); deeper is no guest's, and would recurse
_TOKEN = re.compile(r"""(?P<space>[ \t\r]+)|(?P<comment>\#[^\n]*)|(?P<nl>\n)|(?P<semi>;)|(?P<op>\+?=)
    |(?P<open>\[)|(?P<close>\])|(?P<comma>,)|(?P<str>"(?:[^"\\\n]|\\.)*"|'[^'\n]*')
    |(?P<num>0x[0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?)|(?P<id>[A-Za-z_][A-Za-z0-9_.]*)""", re.X)
_EFI_SECTION = re.compile(r"^\s*\[(global|xen|[A-Za-z0-9_.-]+)\]\s*$", re.M)


@dataclass(frozen=True)
class GuestConfig:
    """One guest's configuration file: the domain's name and what the table shows while it is shut off."""

    path: str
    name: str
    type: str | None
    memory_mib: int | None  # memory= (xl's default applies when None)
    maxmem_mib: int | None
    vcpus: int | None  # vcpus= (maxvcpus= when only that is set)
    text: str


def _tokens(text: str):
    line, pos = 1, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"line {line}: syntax error near {text[pos:pos + 10]!r}")
        if m.lastgroup not in ("space", "comment"):
            yield m.lastgroup, m.group(), line
        line += m.group().count("\n")
        pos = m.end()
    yield "nl", "", line


def _number(text: str) -> int | float:
    if text.startswith("0x"):
        return int(text, 16)
    if "." in text:
        return float(text)
    return int(text, 8) if len(text) > 1 and text.startswith("0") else int(text)


def parse(text: str) -> dict:
    """The settings of an xl.cfg as {key: str | int | float | list}; ValueError naming the line of a syntax error."""
    tokens, out, i = list(_tokens(text)), {}, 0

    def value(i: int, depth: int = 0):
        kind, word, line = tokens[i]
        if depth > MAX_DEPTH:
            raise ValueError(f"line {line}: lists nested deeper than {MAX_DEPTH} levels")
        if kind == "str":
            body = word[1:-1]
            return (re.sub(r"\\(.)", r"\1", body) if word[0] == '"' else body), i + 1
        if kind == "num":
            return _number(word), i + 1
        if kind == "open":
            items, i = [], i + 1
            while tokens[i][0] == "nl" and tokens[i][1]:
                i += 1
            while tokens[i][0] != "close":
                item, i = value(i, depth + 1)
                items.append(item)
                while tokens[i][0] == "nl" and tokens[i][1]:
                    i += 1
                if tokens[i][0] == "comma":
                    i += 1
                    while tokens[i][0] == "nl" and tokens[i][1]:
                        i += 1
                elif tokens[i][0] != "close":
                    raise ValueError(f"line {tokens[i][2]}: ',' or ']' expected in a list")
            return items, i + 1
        raise ValueError(f"line {line}: a value expected, not {word or 'the end of the line'!r}")

    while i < len(tokens) - 1:
        kind, word, line = tokens[i]
        if kind in ("nl", "semi"):
            i += 1
            continue
        if kind != "id" or tokens[i + 1][0] != "op":
            raise ValueError(f"line {line}: KEY=VALUE expected, not {word!r}")
        key, append = word, tokens[i + 1][1] == "+="
        got, i = value(i + 2)
        if tokens[i][0] not in ("nl", "semi"):
            raise ValueError(f"line {tokens[i][2]}: one value per setting")
        out[key] = (out.get(key, []) + got) if append and isinstance(got, list) else got
    return out


def read_guest(path: str, text: str) -> GuestConfig:
    """The guest a configuration defines; ValueError saying why this text is no guest's configuration."""
    if _EFI_SECTION.search(text) and re.search(r"^\s*(options|kernel)\s*=", text, re.M):
        raise ValueError("xen.efi's configuration ([global] and [xen] sections), not xl.cfg(5)")
    settings = parse(text)
    name = settings.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("no name=\"NAME\", which xl.cfg(5) makes mandatory for every guest")

    def number(key: str) -> int | None:
        v = settings.get(key)
        return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    kind = settings.get("type") or {"hvm": "hvm", "generic": "pv"}.get(str(settings.get("builder", "")))
    return GuestConfig(path, name.strip(), kind if isinstance(kind, str) else None, number("memory"),
                       number("maxmem"), number("vcpus") or number("maxvcpus"), text)


def guest_configs(host: Host, folder: str = XEN_DIR) -> tuple[list[GuestConfig], list[tuple[str, str]]]:
    """(the guests' configurations in folder, sorted by name; (path, why not a guest) for the other *.cfg files).
    Only regular files named *.cfg directly in the folder count: `xl create /etc/xen/NAME.cfg` starts one."""
    guests, skipped = [], []
    for entry in sorted(host.listdir(folder) or []):
        path = f"{folder}/{entry}"
        if not entry.endswith(".cfg") or entry.startswith("."):
            continue
        info = host.stat(path)
        if info is None or info.kind not in ("file", "link"):
            skipped.append((path, "not a regular file"))
            continue
        if info.kind == "file" and info.size > MAX_BYTES:
            skipped.append((path, f"{info.size} bytes: too big for a guest's configuration"))
            continue
        try:
            data = host.read_bytes(path)
            guests.append(read_guest(path, (data or b"").decode()))
        except (ValueError, UnicodeDecodeError, OSError, HostError) as e:  # HostError: a link to a FIFO, a folder
            skipped.append((path, str(e).splitlines()[0] if str(e) else type(e).__name__))
    return sorted(guests, key=lambda g: g.name), skipped


def config_for(host: Host, name: str) -> GuestConfig | None:
    """The configuration that defines the guest NAME: /etc/xen/NAME.cfg when it does, else any *.cfg naming it."""
    guests, _ = guest_configs(host)
    by_path = {g.path: g for g in guests}
    own = by_path.get(f"{XEN_DIR}/{name}.cfg")
    if own is not None and own.name == name:
        return own
    return next((g for g in guests if g.name == name), None)
