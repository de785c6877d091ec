"""Running a program on this machine without a shell: captured, or streamed line by line, with a timeout that holds
in both cases. Every host type ends here: local and chroot hosts run their argv, ssh and sudo hosts run ssh or sudo."""

from __future__ import annotations

import os
import selectors
import subprocess
import threading
import time
from typing import Callable, Sequence

from xenbook.core.commands import Result

OnLine = Callable[[str], None]
Raw = tuple[int, bytes, str]


def spawn(argv: Sequence[str], stdin: bytes | None = None, *, timeout: float | None = None,
          on_line: OnLine | None = None, env: dict | None = None, merge_stderr: bool = False) -> Raw:
    """Run argv and return (exit code, stdout bytes, stderr text), 124 at the timeout; FileNotFoundError when the
    program is missing. With on_line, each stdout line (with merge_stderr, each line of both) is handed over as it
    arrives."""
    if on_line is not None:
        return _stream(argv, stdin, timeout, on_line, env, merge_stderr)
    try:
        proc = subprocess.run(list(argv), input=stdin, capture_output=True, timeout=timeout, env=env,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return 124, b"", f"{argv[0]}: timed out after {timeout} s"
    return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")


def run_local(argv: Sequence[str], *, stdin: bytes | None = None, timeout: float | None = None,
              on_line: OnLine | None = None, env: dict | None = None) -> Result:
    """spawn as a Result (127 when the program is missing); a streamed run shows stderr's lines among stdout's, as
    a terminal would."""
    try:
        code, out, err = spawn(argv, stdin, timeout=timeout, on_line=on_line, env=env, merge_stderr=on_line is not None)
    except FileNotFoundError:
        return Result(127, "", f"{argv[0]}: command not found")
    return Result(code, out.decode(errors="replace"), err)


def _feed(pipe, data: bytes | None) -> None:
    """Write data to a child's stdin and close it, ignoring a child that stopped reading."""
    try:
        if data:
            pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError):
        pass


def _stream(argv: Sequence[str], stdin: bytes | None, timeout: float | None, on_line: OnLine, env: dict | None,
            merge_stderr: bool) -> Raw:
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                            env=env)
    if stdin is not None:
        threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True).start()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        out, err, finished = _pump(proc, deadline, on_line)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    if not finished:
        return 124, out, f"{argv[0]}: timed out after {timeout} s"
    return proc.returncode, out, err.decode(errors="replace")


def _pump(proc: subprocess.Popen, deadline: float | None, on_line: OnLine) -> tuple[bytes, bytes, bool]:
    """Read stdout and stderr until both end or the deadline passes; True when they ended."""
    out_fd = proc.stdout.fileno()
    got = {out_fd: bytearray()}
    if proc.stderr is not None:
        got[proc.stderr.fileno()] = bytearray()
    pending = b""
    with selectors.DefaultSelector() as sel:
        for fd in got:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return bytes(got[out_fd]), b"", False
            for key, _ in sel.select(left):
                block = os.read(key.fd, 65536)
                if not block:
                    sel.unregister(key.fd)
                got[key.fd] += block
                if key.fd == out_fd:
                    *lines, pending = (pending + block).split(b"\n")
                    if not block and pending:
                        lines, pending = [pending], b""
                    for line in lines:
                        on_line(line.decode(errors="replace"))
    err = b"".join(bytes(v) for k, v in got.items() if k != out_fd)
    return bytes(got[out_fd]), err, True
