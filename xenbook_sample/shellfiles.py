"""Shell variable files (/etc/default/grub, /etc/conf.d/xendomains, /etc/locale.conf) read as sh reads them when a
script sources them, without running anything: the SIMULATED programs that source such a file get its values here.

What sh does with a simple command (POSIX XCU 2.9.1): a command whose words are all assignments (NAME=value), alone
or after `export`/`readonly`, sets the variables left to right; one that runs a program (NAME=value prog) sets them
for that program only. Words are split at unquoted blanks, commands at unquoted newlines and ';'. Quoting (2.2):
a backslash keeps the next character (a backslash-newline joins lines), '...' keeps everything, "..." keeps all but
$, ` and the backslash before $ ` " \\ or a newline; quotes may span lines. An unquoted '#' that starts a word starts
a comment. $NAME and ${NAME} expand outside single quotes (to "" when unset). A command this reader cannot follow
without running something (command substitution, ${NAME:-...} forms, control words, a pipe) sets nothing: the
simulation's limit, on the side of not guessing."""

from __future__ import annotations

import re
from collections import ChainMap

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BLANK = " \t"
_ENDS = "\n;&|"


class _Unsupported(Exception):
    pass


def _expand(text: str, i: int, values) -> tuple[str, int]:
    """The expansion of the $ at text[i] and the index after it."""
    if text.startswith("${", i):
        end = text.find("}", i)
        if end < 0 or not _NAME.fullmatch(text[i + 2:end]):
            raise _Unsupported
        return values.get(text[i + 2:end], ""), end + 1
    m = _NAME.match(text, i + 1)
    if m:
        return values.get(m.group(), ""), m.end()
    if i + 1 < len(text) and text[i + 1] in "(0123456789#?@*!$-":
        raise _Unsupported
    return "$", i + 1


def _commands(text: str, values: dict[str, str]):
    """Yield each simple command as a list of (word, assignment name or None); words are expanded with values as they
    stand when the command runs (the caller updates values between commands)."""
    i, n = 0, len(text)
    while i < n:
        words: list[tuple[str, str | None]] = []
        broken, pending = False, {}
        scope = ChainMap(pending, values)  # A=1 B=$A: B is 1, as in sh
        while i < n and text[i] not in _ENDS:
            if text[i] in _BLANK:
                i += 1
                continue
            if text.startswith("\\\n", i):
                i += 2
                continue
            if text[i] == "#":
                while i < n and text[i] != "\n":
                    i += 1
                break
            word: list[str] = []
            m = _NAME.match(text, i)
            prefix = all(w[1] or (k == 0 and w[0] in ("export", "readonly")) for k, w in enumerate(words))
            name = m.group() if m and text.startswith("=", m.end()) and prefix else None
            if name:
                i = m.end() + 1
            try:
                while i < n and text[i] not in _BLANK + _ENDS:
                    c = text[i]
                    if c == "\\":
                        if text.startswith("\\\n", i):
                            i += 2
                            continue
                        word.append(text[i + 1:i + 2])
                        i += 2
                    elif c == "'":
                        end = text.find("'", i + 1)
                        if end < 0:
                            raise _Unsupported
                        word.append(text[i + 1:end])
                        i = end + 1
                    elif c == '"':
                        i += 1
                        while i < n and text[i] != '"':
                            if text[i] == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
                                word.append("" if text[i + 1] == "\n" else text[i + 1])
                                i += 2
                            elif text[i] == "$":
                                value, i = _expand(text, i, scope)
                                word.append(value)
                            elif text[i] == "`":
                                raise _Unsupported
                            else:
                                word.append(text[i])
                                i += 1
                        if i >= n:
                            raise _Unsupported
                        i += 1
                    elif c == "$":
                        value, i = _expand(text, i, scope)
                        word.append(value)
                    elif c in "`<>()":
                        raise _Unsupported
                    else:
                        word.append(c)
                        i += 1
            except _Unsupported:
                broken = True
                while i < n and text[i] != "\n":
                    i += 1
                break
            words.append(("".join(word), name))
            if name:
                pending[name] = words[-1][0]
        if i < n and text[i] in "&|":
            broken = True
            while i < n and text[i] != "\n":
                i += 1
        i += 1
        if words and not broken:
            yield words


def read_vars(text: str, values: dict[str, str] | None = None) -> dict[str, str]:
    """The variables a shell holds after sourcing text (starting from values): the last assignment wins."""
    out = dict(values or {})
    for words in _commands(text, out):
        lead = 1 if words[0][1] is None and words[0][0] in ("export", "readonly") else 0
        if all(name for _word, name in words[lead:]):
            for word, name in words[lead:]:
                out[name] = word
    return out
