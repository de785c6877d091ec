"""systemd units: whether they are installed and enabled, read from the unit files and .wants links."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from xenbook.core.host import Host

PACKAGE_UNITS = "/usr/lib/systemd/system"  # where packages put their unit files
UNIT_DIRS = ("/etc/systemd/system", PACKAGE_UNITS)


def _template(unit: str) -> tuple[str, str] | None:
    """(template, instance) of an instance name: serial-getty@hvc0.service -> (serial-getty@.service, hvc0)."""
    name, at, rest = unit.partition("@")
    instance, _, suffix = rest.rpartition(".")
    return (f"{name}@.{suffix}", instance) if at and instance else None


def unit_file(host: Host, unit: str) -> tuple[str, str] | None:
    """(path, text) of the unit's file, the admin's copy in /etc first, or None when not installed; an instance
    without a file of its own reads its template's, as systemd does."""
    template = _template(unit)
    for name in (unit,) + ((template[0],) if template else ()):
        for folder in UNIT_DIRS:
            text = host.read_text(f"{folder}/{name}")
            if text is not None:
                return f"{folder}/{name}", text
    return None


def _logical_lines(text: str) -> list[str]:
    """systemd.syntax(7): a line ending in a backslash goes on in the next line that is not a comment."""
    out: list[str] = []
    joined = False
    for raw in text.splitlines():
        line = raw.strip()
        if joined and line.startswith(("#", ";")):
            continue
        if joined:
            out[-1] += " " + line
        else:
            out.append(line)
        joined = out[-1].endswith("\\")
        if joined:
            out[-1] = out[-1][:-1].rstrip()
    return out


def install_section(text: str) -> dict[str, list[str]]:
    """The [Install] keys of a unit file (WantedBy, RequiredBy, Also, Alias, ...) with their unquoted words; an empty
    assignment empties the key, as systemd's list settings do (systemd.unit(5))."""
    out: dict[str, list[str]] = {}
    current = None
    for line in _logical_lines(text):
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif current == "Install" and "=" in line and not line.startswith(("#", ";")):
            key, value = (part.strip() for part in line.split("=", 1))
            try:
                words = shlex.split(value)
            except ValueError:
                words = value.split()
            out[key] = out.get(key, []) + words if words else []
    return {key: words for key, words in out.items() if words}


@dataclass(frozen=True)
class UnitState:
    unit: str
    installed: bool
    enabled: bool
    links: tuple[str, ...]  # the .wants/.requires links enabling it creates


def unit_state(host: Host, unit: str) -> UnitState:
    """Enabled means every link systemctl enable would create exists (a file read, no systemctl call)."""
    found = unit_file(host, unit)
    if found is None:
        return UnitState(unit, False, False, ())
    install = install_section(found[1])
    template = _template(unit)
    if template:  # the %i specifier of a template's [Install] section names the instance
        install = {key: [w.replace("%i", template[1]) for w in words] for key, words in install.items()}
    links = tuple(f"/etc/systemd/system/{target}.{kind}/{unit}"
                  for key, kind in (("WantedBy", "wants"), ("RequiredBy", "requires"))
                  for target in install.get(key, []))
    links += tuple(f"/etc/systemd/system/{alias}" for alias in install.get("Alias", []))
    enabled = bool(links) and all(host.exists(link) for link in links)
    return UnitState(unit, True, enabled, links)

