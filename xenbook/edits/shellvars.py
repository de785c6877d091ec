"""Shell variable files such as /etc/default/grub: read values the way sh would, render safe assignments."""

from __future__ import annotations

import re
import shlex

_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_UNSAFE = re.compile(r"[\"$`\\\n\r\x00]")


def get_vars(text: str) -> dict[str, str]:
    """The last value each plain assignment gives, unquoted; lines sh would treat specially are skipped."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        m = _ASSIGN.match(line)
        if not m:
            continue
        try:
            words = shlex.split(m.group(2), comments=True)
        except ValueError:
            continue
        values[m.group(1)] = " ".join(words) if words else ""
    return values


def quote_value(name: str, value: str) -> str:
    """NAME="value" for a value without quotes, $, backticks, backslashes or newlines; else ValueError."""
    if _UNSAFE.search(value):
        raise ValueError(f"{name} value {value!r} may not hold quotes, $, backticks, backslashes or newlines")
    return f'{name}="{value}"'


def render_assignments(pairs: list[tuple[str, str]]) -> str:
    """Lines NAME="value", one per pair, in order."""
    return "".join(quote_value(n, v) + "\n" for n, v in pairs)
