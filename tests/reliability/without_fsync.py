"""Run the xenbook CLI with one os.fsync call site of the rooted hosts skipped, to show the trace check sees it.

    python -m tests.reliability.without_fsync LINE XENBOOK-ARGUMENTS...

LINE is the line of an os.fsync call in xenbook/connectors/rooted.py (see sites()); that call returns without
syncing, every other os.fsync works. Nothing in xenbook changes: os.fsync is wrapped in this process only."""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass

from xenbook.cli.main import main
from xenbook.connectors import rooted


@dataclass(frozen=True)
class Site:
    function: str
    line: int
    code: str

    def __str__(self) -> str:
        return f"{self.function}:{self.code}"


def sites() -> list[Site]:
    """Every os.fsync call in rooted.py, with its enclosing function."""
    with open(rooted.__file__) as f:
        source = f.read()
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "fsync"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "os"):
                found.append(Site(function.name, node.lineno, ast.get_source_segment(source, node)))
    return sorted(set(found), key=lambda s: s.line)


def skipping(line: int):
    """os.fsync, except that the call from rooted.py's line does nothing."""
    real = os.fsync

    def fsync(fd: int) -> None:
        caller = sys._getframe(1)
        if caller.f_code.co_filename == rooted.__file__ and caller.f_lineno == line:
            return
        real(fd)
    return fsync


if __name__ == "__main__":
    line = int(sys.argv[1])
    if line not in {s.line for s in sites()}:
        sys.exit(f"line {line} of {rooted.__file__} is not an os.fsync call")
    os.fsync = skipping(line)
    sys.argv[1:] = sys.argv[2:]
    main(prog_name="xenbook")
