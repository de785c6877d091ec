"""The controller's end of the agent (agent_script.py): one process that holds one SSH session, the script shipped
through it once, then requests and replies as frames on its pipes."""

from __future__ import annotations

import json
import struct
import subprocess
import threading
from importlib.resources import files
from typing import Callable

from xenbook.core.errors import TargetError

# What the host's python3 runs (isolated, -I -S: no PYTHON* variables, user or site packages reach it): read the
# agent's text from stdin (its length first), then run it; the rest of stdin is the requests. A constant: nothing of
# the caller's reaches this text.
BOOT = ('import sys;r=sys.stdin.buffer;'
        'exec(compile(r.read(int(r.readline())),"xenbook-agent","exec"),{"__name__":"__main__"})')
HELLO = b"xenbook-agent 1\n"
STALL = 60  # seconds past a command's timeout without its answer: the session is given up


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
        try:
            self.proc.stdin.write(b"%d\n" % len(script) + script)
            self.proc.stdin.flush()
            hello = self.proc.stdout.readline()
        except OSError:
            hello = b""
        if hello != HELLO:
            self._stop()
            self._drainer.join(5)  # all of ssh's words, for the message
            raise AgentUnavailable(self.proc.returncode, self.stderr())

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
        self._stop()
        self._drainer.join(5)
        raise TargetError(f"the connection to {self.target} ended in the middle of a request (exit "
                          f"{self.proc.returncode}): {self.stderr().strip()[-500:] or 'no message'}",
                          "check the network and that sshd runs there, then plan again")

    def exchange(self, header: dict, data: bytes = b"",
                 on_line: Callable[[str], None] | None = None) -> tuple[dict, bytes]:
        raw = json.dumps(header).encode()
        with self._lock:
            if self.proc.poll() is not None:
                self._frame()  # raises: the agent is gone
            self.exchanges += 1
            try:
                self.proc.stdin.write(struct.pack(">I", len(raw)) + raw + struct.pack(">I", len(data)) + data)
                self.proc.stdin.flush()
            except OSError:
                pass  # the agent is gone: reading the reply says so
            # the agent ends a command at its timeout; should the host or the network stall, end the session
            timeout = header.get("timeout")
            watchdog = threading.Timer(timeout + STALL, self.proc.kill) if timeout is not None else None
            if watchdog is not None:
                watchdog.daemon = True
                watchdog.start()
            try:
                while True:
                    reply, blob = json.loads(self._frame().decode()), self._frame()
                    if "line" not in reply:
                        return reply, blob
                    if on_line is not None:
                        on_line(reply["line"])
            finally:
                if watchdog is not None:
                    watchdog.cancel()

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
