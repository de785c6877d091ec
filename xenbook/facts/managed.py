"""What xenbook manages in a host's files, read for the host report: its marker blocks and its GRUB menu entry."""

from __future__ import annotations

import re

from xenbook.core.host import Host

_BLOCK = re.compile(r"^# BEGIN xenbook (\S+)\n.*?^# END xenbook \1$\n?", re.M | re.S)
_GRUB_ENTRY = re.compile(r"^menuentry [^\n]*--id xenbook-xen[^\n]*\{\n.*?^\}$\n?", re.M | re.S)
MANAGED_MARK = "Managed by xenbook"  # the first line of every file xenbook writes whole


def read_quietly(host: Host, path: str | None) -> bytes | None:
    """The file's bytes, or None when it is absent or cannot be read (a report leaves such a file out)."""
    if not path:
        return None
    try:
        return host.read_bytes(path)
    except Exception:  # noqa: BLE001 (a root-only or odd file is left out, not fatal for a report)
        return None


def text_quietly(host: Host, path: str) -> str | None:
    data = read_quietly(host, path)
    return None if data is None else data.decode("utf-8", "surrogateescape")


def managed_parts(text: str, whole: bool = False) -> str:
    """xenbook's blocks and its GRUB menu entry in text (the whole text when whole and it names xenbook)."""
    if whole and "xenbook" in text:
        return text
    rest = _BLOCK.sub("", text)
    return "".join(m.group(0) for m in _BLOCK.finditer(text)) + "".join(m.group(0) for m in _GRUB_ENTRY.finditer(rest))
