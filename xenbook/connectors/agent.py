"""The controller's end of the agent (agent_script.py): one process that holds one SSH session, the script shipped
through it once, then requests and replies as frames on its pipes."""

from __future__ import annotations

import contextlib
import json
import struct
import subprocess
import threading
from importlib.resources import files
from typing import Callable

from xenbook.core.commands import output_tail
from xenbook.core.errors import TargetError

# What the host's python3 runs (isolated, -I -S: no PYTHON* variables, user or site packages reach it): read the
# agent's text from stdin (its length first), then run it; the rest of stdin is the requests. A constant: nothing of
# the caller's reaches this text.
BOOT = ('import sys;r=sys.stdin.buffer;'
        'exec(compile(r.read(int(r.readline())),"xenbook-agent","exec"),{"__name__":"__main__"})')
HELLO = b"xenbook-agent 1\n"
STALL = 60  # seconds past a command's timeout without its answer: the session is given up
START = 120  # seconds for ssh to connect and the host's python3 to start the agent
FILES = 600  # seconds for a file request or a write (a hung disk or network filesystem)


def _patience(header: dict) -> float | None:
    """How long a request may go unanswered: a command its timeout and STALL (none without a timeout: pacman may
    run for an hour); a batch none (its commands may have none); a file request or a write FILES."""
    if header.get("op") == "run":
        timeout = header.get("timeout")
        return None if timeout is None else timeout + STALL
    return None if header.get("op") == "batch" else FILES


class AgentUnavailable(Exception):
    """The host could not start the agent (no python3 there, sudo refused, ...): its exit code and words."""

    def __init__(self, returncode: int | None, stderr: str):
        super().__init__(stderr)
        self.returncode, self.stderr = returncode, stderr


def _script() -> bytes:
    return files("xenbook.connectors").joinpath("agent_script.py").read_bytes()


class Agent:
    """A running agent: exchange() sends one request and returns its reply (header, data)."""

    def __init__(self, argv: list[str], target: str):
        self.target = target
        self.exchanges = 0
        self._lock = threading.Lock()
        self._err = bytearray()
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise TargetError("the ssh client is not installed here; install openssh") from None
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        script = _script()
        with self._watchdog(START) as fired:
            try:
                self.proc.stdin.write(b"%d\n" % len(script) + script)
                self.proc.stdin.flush()
                hello = self.proc.stdout.readline()
            except OSError:
                hello = b""
        if fired:
            self._stop()
            raise TargetError(f"{target} did not answer within {START} s: no agent started there (ssh connected, "
                              f"or hung connecting){output_tail(self.stderr(), 3)}",
                              "check that plain ssh to the host works and that python3 there starts")
        if hello != HELLO:
            self._stop()
            self._drainer.join(5)  # all of ssh's words, for the message
            raise AgentUnavailable(self.proc.returncode, self.stderr())

    @contextlib.contextmanager
    def _watchdog(self, seconds: float | None):
        """Within the block, the session is ended after seconds; the list yielded holds True when it was."""
        fired: list[bool] = []
        if seconds is None:
            yield fired
            return

        def end():
            fired.append(True)
            self.proc.kill()
        timer = threading.Timer(seconds, end)
        timer.daemon = True
        timer.start()
        try:
            yield fired
        finally:
            timer.cancel()

    def _drain(self) -> None:
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):
            self._err += chunk
            del self._err[:-65536]

    def stderr(self) -> str:
        return self._err.decode(errors="replace")

    def _frame(self) -> bytes:
        head = self.proc.stdout.read(4)
        if len(head) == 4:
            size = struct.unpack(">I", head)[0]
            body = self.proc.stdout.read(size)
            if len(body) == size:
                return body
        raise self._ended()

    def _ended(self) -> TargetError:
        """The session is over (or given up): its process reaped, ssh's last words in the message."""
        self._stop()
        self._drainer.join(5)
        return TargetError(f"the connection to {self.target} ended in the middle of a request (exit "
                           f"{self.proc.returncode}): {self.stderr().strip()[-500:] or 'no message'}",
                           "check the network and that sshd runs there, then plan again")

    def exchange(self, header: dict, data: bytes = b"",
                 on_line: Callable[[str], None] | None = None) -> tuple[dict, bytes]:
        raw = json.dumps(header).encode()
        with self._lock:
            if self.proc.poll() is not None:
                raise self._ended()
            self.exchanges += 1
            try:
                self.proc.stdin.write(struct.pack(">I", len(raw)) + raw + struct.pack(">I", len(data)) + data)
                self.proc.stdin.flush()
            except OSError:
                pass  # the agent is gone: reading the reply says so
            # the agent ends a command at its timeout; should the host or the network stall, the session is ended
            with self._watchdog(_patience(header)) as fired:
                try:
                    while True:
                        reply, blob = self._reply(), self._frame()
                        if "line" not in reply:
                            return reply, blob
                        if on_line is not None:
                            on_line(reply["line"])
                except TargetError:
                    if fired:
                        raise TargetError(f"{self.target} gave no answer to {header.get('op')} within "
                                          f"{_patience(header):g} s: the session was ended",
                                          "check the host (a hung disk or network filesystem, a stopped "
                                          "process), then run again") from None
                    raise
                except BaseException:
                    # interrupted before the reply ended (Ctrl-C, a failing on_line): what is left of it in the
                    # pipe would be read as the next request's reply, so the session ends here
                    self.proc.kill()
                    self._stop()
                    raise

    def _reply(self) -> dict:
        """The next reply's header; a header that is no JSON object ends the session (the frames are out of step)."""
        raw = self._frame()
        try:
            reply = json.loads(raw.decode())
            if isinstance(reply, dict):
                return reply
        except ValueError:
            pass
        self.proc.kill()
        self._stop()
        raise TargetError(f"the agent on {self.target} answered what xenbook cannot read: {raw[:80]!r}; the "
                          "session was ended", "check what the host's python3 is, then run again")

    def _stop(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        """End the agent: it exits at the end of its input."""
        with self._lock:
            self._stop()
