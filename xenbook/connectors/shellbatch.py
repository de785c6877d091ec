"""A plan's read-ahead on a host without python3: the reads, stats and listings of a batch in one command, a
constant sh script that takes them as positional parameters (op, path, op, path, ...) and never a built string.

Each answer is one line: "ok" and the data (a read's or a listing's bytes in base64; stat's "%f %u %g %s"),
"missing", or "other". Only the plain answers are used; anything else (not a regular file, a directory that
cannot be searched, a failing tool) is asked again on its own, whose words say what is wrong."""

from __future__ import annotations

import base64
import binascii
import stat as statmod

from xenbook.connectors.process import Raw

LIMIT = 500  # paths per batch: far below any argv limit
_KINDS = {statmod.S_IFREG: "file", statmod.S_IFDIR: "dir", statmod.S_IFLNK: "link"}

# gone: missing when the nearest existing directory above can be searched, else "other" (asked again on its own)
SCRIPT = ('gone() { d=$1; while d=${d%/*}; d=${d:-/}; [ ! -e "$d" ]; do :; done; '
          'if [ ! -d "$d" ] || [ -x "$d" ]; then echo missing; else echo other; fi; }; '
          'while [ $# -gt 1 ]; do o=$1; p=$2; shift 2; case $o in '
          'read) if [ -f "$p" ]; then d=$(base64 -w0 -- "$p") && echo "ok $d" || echo other; '
          'elif [ -e "$p" ]; then echo other; else gone "$p"; fi;; '
          'stat) if [ -e "$p" ]; then d=$(stat -L -c "%f %u %g %s" -- "$p") && echo "ok $d" || echo other; '
          'else gone "$p"; fi;; '
          'list) if [ -d "$p" ] && ! { [ -r "$p" ] && [ -x "$p" ]; }; then echo other; '
          'elif [ -d "$p" ]; then d=$(find -H "$p" -mindepth 1 -maxdepth 1 -printf "%f\\0" | base64 -w0) '
          '&& echo "ok $d" || echo other; else echo missing; fi;; '
          '*) echo other;; esac; done')


def arguments(ops: list[dict]) -> list[str]:
    """The script's positional parameters for the file requests among ops."""
    return [a for op in ops for a in (op["op"], op["path"])]


def _answer(op: str, line: str) -> tuple[dict, bytes] | None:
    if line == "missing":
        return {"missing": True}, b""
    if not line.startswith("ok "):
        return None
    data = line[3:]
    try:
        if op == "read":
            raw = base64.b64decode(data, validate=True)
            return {"size": len(raw)}, raw
        if op == "list":
            names = base64.b64decode(data, validate=True).split(b"\0")
            return {"names": sorted(n.decode(errors="surrogateescape") for n in names if n)}, b""
        mode, uid, gid, size = data.split()
        bits = int(mode, 16)
        kind = _KINDS.get(statmod.S_IFMT(bits), "other")
        return {"stat": [kind, statmod.S_IMODE(bits), int(uid), int(gid), int(size)]}, b""
    except (ValueError, binascii.Error):
        return None


def answers(ops: list[dict], raw: Raw) -> list[tuple[dict, bytes] | None]:
    """The script's answers, one per op (None: ask that one again on its own); all None when the script failed."""
    lines = raw[1].decode(errors="replace").split("\n")
    if raw[0] != 0 or len(lines) != len(ops) + 1 or lines[-1] != "":
        return [None] * len(ops)
    return [_answer(op["op"], line) for op, line in zip(ops, lines)]
