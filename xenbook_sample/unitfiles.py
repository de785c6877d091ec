"""systemd unit files read as systemd reads them (systemd.syntax(7)), for the sample's SIMULATED systemctl: sections
and key=value lines in order, '#' and ';' comment lines, a trailing backslash that joins a line with the next one
(comment lines between them are dropped), and list settings whose words may be quoted and whose empty assignment
empties the list."""

from __future__ import annotations

import posixpath
import re

CONFIG = "/etc/systemd/system"
SUFFIX = re.compile(r"\.(service|socket|target|mount|automount|path|timer|swap|slice|scope|device)$")
LISTS = ("WantedBy", "RequiredBy", "UpheldBy", "Also", "Alias")  # systemd.unit(5) [Install] settings that are lists


def entries(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment, in file order; a key before any section has the section ""."""
    out, section, pending = [], "", None
    for raw in text.splitlines():
        line = raw.strip()
        if pending is not None and line[:1] in ("#", ";"):
            continue
        if line.endswith("\\"):
            pending = (pending + " " if pending is not None else "") + line[:-1]
            continue
        if pending is not None:
            line, pending = pending + " " + line, None
        if not line or line[0] in "#;":
            continue
        if line[0] == "[" and line[-1] == "]":
            section = line[1:-1]
        elif "=" in line:
            key, _, value = line.partition("=")
            out.append((section, key.strip(), value.strip()))
    if pending:
        out.append((section, *(s.strip() for s in pending.partition("=")[::2])))
    return out


def words(value: str) -> list[str]:
    """The words of a list setting: split at white space, with "..." or '...' keeping a word together and a
    backslash keeping the next character."""
    out, word, quote, started = [], [], None, False
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            word.append(value[i + 1])
            started, i = True, i + 2
            continue
        if quote:
            if c == quote:
                quote = None
            else:
                word.append(c)
        elif c in "\"'":
            quote, started = c, True
        elif c.isspace():
            if started:
                out.append("".join(word))
            word, started = [], False
        else:
            word.append(c)
            started = True
        i += 1
    if started:
        out.append("".join(word))
    return out


def install_section(text: str) -> dict[str, list[str]]:
    """The [Install] settings: list settings as their words (an empty assignment empties the list), others (such
    as DefaultInstance) as a one-word list of their last value."""
    out: dict[str, list[str]] = {}
    for section, key, value in entries(text):
        if section != "Install":
            continue
        if key in LISTS:
            out[key] = out.get(key, []) + words(value) if value else []
        else:
            out[key] = [value] if value else []
    return {k: v for k, v in out.items() if v}


def unit_name(arg: str) -> str:
    """systemctl's mangling: a name without a unit type suffix means NAME.service."""
    return arg if SUFFIX.search(arg) else arg + ".service"


def install_links(name: str, path: str, text: str) -> tuple[list[tuple[str, str]], list[str], str | None]:
    """(links as (link, target), Also= units, error) that `systemctl enable name` makes from the unit file."""
    inst = install_section(text)
    instance = name
    if "@." in posixpath.basename(path) and name == posixpath.basename(path):  # the bare template
        default = (inst.get("DefaultInstance") or [None])[-1]
        targets = inst.get("WantedBy", []) + inst.get("RequiredBy", [])
        if default is None and targets:
            return [], [], f"Failed to enable {name}, destination unit {targets[0]} is a non-template unit."
        instance = name.replace("@.", f"@{default}.") if default else name
    links = [(f"{CONFIG}/{alias}", path) for alias in inst.get("Alias", [])]
    links += [(f"{CONFIG}/{target}.{kind}/{instance}", path)
              for key, kind in (("WantedBy", "wants"), ("RequiredBy", "requires"), ("UpheldBy", "upholds"))
              for target in inst.get(key, [])]
    return links, inst.get("Also", []), None
