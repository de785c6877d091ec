"""systemd units: whether they are installed and enabled, read from the unit files and .wants links."""

from __future__ import annotations

from dataclasses import dataclass

from ..hosts.base import Host

UNIT_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system")


def unit_file(host: Host, unit: str) -> tuple[str, str] | None:
    """(path, text) of the unit's file, the admin's copy in /etc first, or None when not installed."""
    for folder in UNIT_DIRS:
        text = host.read_text(f"{folder}/{unit}")
        if text is not None:
            return f"{folder}/{unit}", text
    return None


def install_section(text: str) -> dict[str, list[str]]:
    """The [Install] keys of a unit file (WantedBy, RequiredBy, Also, Alias) with their words."""
    out: dict[str, list[str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif current == "Install" and "=" in line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).extend(value.split())
    return out


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
    links = tuple(f"/etc/systemd/system/{target}.{kind}/{unit}"
                  for key, kind in (("WantedBy", "wants"), ("RequiredBy", "requires"))
                  for target in install.get(key, []))
    links += tuple(f"/etc/systemd/system/{alias}" for alias in install.get("Alias", []))
    enabled = bool(links) and all(host.exists(link) for link in links)
    return UnitState(unit, True, enabled, links)

