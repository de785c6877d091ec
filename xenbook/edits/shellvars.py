"""Shell variable files such as /etc/default/grub: read values the way sh would, render safe assignments."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\"$`\\\n\r\x00]")

# sh's lexical pieces (POSIX XCU 2.2-2.3), in the order they are tried; a word is a run of pieces without blanks
_PIECE = re.compile(r"""(?P<join>\\\n)|(?P<blank>[ \t]+)|(?P<end>[\n;])|(?P<other>[&|<>()`])
    |(?P<single>'[^']*')|(?P<double>"(?:[^"\\]|\\.)*")|(?P<escaped>\\.)
    |(?P<comment>(?<![^ \t\n;])\#[^\n]*)|(?P<plain>[^ \t\n;&|<>()`'"\\]+)""", re.X | re.S)
_PARAM = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|([({0-9#?@*!$-]))")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")


class _Skip(Exception):
    """A command get_vars cannot read without running something."""


def _expand(text: str, values: dict[str, str]) -> str:
    def value(m: re.Match) -> str:
        if m[3]:  # $(...), ${NAME:-...}, $1, $$ and the like
            raise _Skip
        name = m[1] or m[2]
        return values[name] if name in values else m[0]  # set by the environment, if at all: kept as written
    return _PARAM.sub(value, text)


def _unquote(kind: str, text: str, values: dict[str, str]) -> str:
    if kind == "single":
        return text[1:-1]
    if kind == "escaped":
        return text[1]
    if kind == "double":
        parts = re.split(r"(\\[$`\"\\\n])", text[1:-1])  # the backslashes that quote inside "..."
        if any("`" in p for p in parts[::2]):
            raise _Skip
        return "".join(p[1].strip("\n") if i % 2 else _expand(p, values) for i, p in enumerate(parts))
    return _expand(text, values)


def _commands(text: str):
    """Each simple command as a list of words, each word a list of (kind, text) pieces; None for one that is more
    than assignments and a program (pipes, redirections, substitutions)."""
    words: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] | None = None
    broken, pos = False, 0
    while pos < len(text):
        m = _PIECE.match(text, pos)
        if m is None:  # an unclosed quote: sh stops reading the file there
            broken = True
            break
        kind, pos = m.lastgroup, m.end()
        if kind in ("join", "comment"):
            continue
        if kind in ("blank", "end", "other"):
            current = None
            broken |= kind == "other"
            if kind == "end":
                if words:
                    yield None if broken else words
                words, broken = [], False
            continue
        if current is None:
            current = []
            words.append(current)
        current.append((kind, m.group()))
    if words:
        yield None if broken else words


def get_vars(text: str) -> dict[str, str]:
    """The variables sh holds after sourcing text: the last assignment wins, and $NAME or ${NAME} expands when the
    text set NAME before (a name it never sets stays as written: its value is the caller's environment, so a step
    refuses to copy it); a command that runs a program, or that needs one to be read, sets nothing."""
    values: dict[str, str] = {}
    for words in _commands(text):
        if words is None:
            continue
        if words[0] in ([("plain", "export")], [("plain", "readonly")]):
            words = words[1:]
        heads = [_ASSIGNMENT.match(w[0][1]) if w[0][0] == "plain" else None for w in words]
        if not all(heads):
            continue
        pending = dict(values)
        try:
            for word, head in zip(words, heads):
                rest = [(word[0][0], word[0][1][head.end():])] + word[1:]
                pending[head[1]] = "".join(_unquote(k, t, pending) for k, t in rest if t)
        except _Skip:
            continue
        values = pending
    return values


def quote_value(name: str, value: str) -> str:
    """NAME="value" for a value without quotes, $, backticks, backslashes or newlines; else ValueError."""
    if _UNSAFE.search(value):
        raise ValueError(f"{name} value {value!r} may not hold quotes, $, backticks, backslashes or newlines")
    return f'{name}="{value}"'


def render_assignments(pairs: list[tuple[str, str]]) -> str:
    """Lines NAME="value", one per pair, in order."""
    return "".join(quote_value(n, v) + "\n" for n, v in pairs)
