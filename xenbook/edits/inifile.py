"""INI-like files of [Section] headers and key=value lines (systemd units and .network files, GLib key files such as
NetworkManager's): parsed into sections in file order."""

from __future__ import annotations

Sections = list[tuple[str, list[tuple[str, str]]]]


def parse(text: str, comments: str = "#;") -> Sections:
    """[(section, [(key, value), ...]), ...] in file order; blank lines and lines starting with a comment character
    dropped, keys and values stripped."""
    out: Sections = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in comments:
            continue
        if line.startswith("[") and line.endswith("]"):
            out.append((line[1:-1], []))
        elif "=" in line and out:
            key, value = line.split("=", 1)
            out[-1][1].append((key.strip(), value.strip()))
    return out
