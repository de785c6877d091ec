"""Running programs on this machine: captured or streamed, the timeout holds either way, nothing reads our stdin."""

from __future__ import annotations

import time

from xenbook.connectors.process import run_local, spawn


def test_captured_and_streamed_runs_agree():
    argv = ["sh", "-c", 'echo one; echo warn >&2; printf two; exit 3']
    assert spawn(argv) == (3, b"one\ntwo", "warn\n")
    lines = []
    code, out, err = spawn(argv, on_line=lines.append)
    assert (code, out, err, lines) == (3, b"one\ntwo", "warn\n", ["one", "two"])
    merged = []
    result = run_local(argv, on_line=merged.append)
    assert result.returncode == 3 and sorted(merged) == ["one", "two", "warn"]


def test_the_timeout_holds_for_a_silent_streamed_program():
    started = time.monotonic()
    code, _, err = spawn(["sleep", "30"], timeout=0.5, on_line=lambda line: None)
    assert code == 124 and "timed out after 0.5 s" in err and time.monotonic() - started < 10
    assert spawn(["sleep", "30"], timeout=0.5)[0] == 124


def test_stdin_is_fed_or_closed():
    assert spawn(["cat"], b"data")[1] == b"data"
    assert spawn(["cat"])[1] == b""  # /dev/null, never the caller's stdin
    assert spawn(["cat"], b"x\ny\n", on_line=lambda line: None)[1] == b"x\ny\n"


def test_a_missing_program():
    assert run_local(["xenbook-no-such-program"]).returncode == 127
