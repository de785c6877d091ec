"""A guest's console in the notebook: `xl console NAME` on a pseudo-terminal of this machine (the target's terminal:
the command itself on local hosts, `ssh -t` over SSH, the sample host's simulation), its output kept as a screen of
text lines, and input written to it. Ctrl+] (0x1d) is xl console's own way out."""

from __future__ import annotations

import atexit
import os
import pty
import re
import signal
import subprocess
import threading
from typing import Callable

from xenbook.core.commands import Command
from xenbook.core.errors import ParameterError
from xenbook.core.host import Host
from xenbook.core.model import build
from xenbook.sections.manage.params import ManageParams

ESCAPE = "\x1d"  # Ctrl+]: xl console detaches (xl(1))
_CSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


class Screen:
    """The last `keep` lines of a terminal's output as plain text: escape sequences dropped, \\r returns to the
    start of the line, backspace steps back, a line wraps at `width` columns."""

    def __init__(self, keep: int = 200, width: int = 512):
        self.keep, self.width, self.lines, self.col = keep, width, [""], 0

    def feed(self, text: str) -> None:
        for ch in _CSI.sub("", text):
            line = self.lines[-1]
            if ch == "\n":
                self.lines.append("")
                self.col = 0
            elif ch == "\r":
                self.col = 0
            elif ch == "\b":
                self.col = max(0, self.col - 1)
            elif ch == "\t":
                self.feed(" " * (8 - self.col % 8))
            elif ch >= " ":
                if self.col >= self.width:  # wrap, as a terminal does: a line never grows without bound
                    self.lines.append("")
                    self.col, line = 0, ""
                self.lines[-1] = line[:self.col] + ch + line[self.col + 1:]
                self.col += 1
        del self.lines[:-self.keep]

    def text(self) -> str:
        return "\n".join(self.lines)


class Console:
    """One `xl console NAME` on a pseudo-terminal; on_change(screen text) after each read, on_exit(status) once.
    ParameterError for a name that is no domain name ("-t" would be an option of xl console)."""

    def __init__(self, host: Host, name: str, on_change: Callable[[str], None] = lambda text: None,
                 on_exit: Callable[[int], None] = lambda status: None):
        if build(ManageParams, {"domain": name}).domain != name or not name:  # never an option to xl, nor blank
            raise ParameterError([("domain", name, "must be a domain name: letters, digits, '_', '.' or '-', at "
                                                   "most 64, without spaces around it")])
        self.name, self.screen, self.on_change, self.on_exit = name, Screen(), on_change, on_exit
        self.argv = host.terminal(Command.of("xl", "console", name))
        master, slave = pty.openpty()
        try:
            self.proc = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                         close_fds=True, env={**os.environ, "TERM": "dumb"})
        except OSError:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.master = master
        _OPEN.add(self)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, name=f"xenbook-console-{name}", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO: the other side closed
                data = b""
            if not data:
                break
            with self.lock:
                self.screen.feed(data.decode(errors="replace"))
                text = self.screen.text()
            self.on_change(text)
        status = self.proc.wait()
        self.on_exit(status)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, text: str) -> None:
        """Type text into the console (a line ends with "\\r", as a terminal's Enter)."""
        if self.alive:
            try:
                os.write(self.master, text.encode())
            except OSError:  # it ended (or was closed) just now: on_exit says so, a button's click is no error
                pass

    def close(self, timeout: float = 3.0) -> int | None:
        """Leave with Ctrl+], then end the process (and its group) if it is still there; its exit status."""
        try:
            self.send(ESCAPE)
            self.proc.wait(timeout=timeout)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self.thread.join(timeout=timeout)
        try:
            os.close(self.master)
        except OSError:
            pass
        _OPEN.discard(self)
        return self.proc.returncode


_OPEN: set[Console] = set()  # consoles not yet closed: the kernel's exit ends them (each runs in its own session)


@atexit.register
def _close_all() -> None:
    for console in list(_OPEN):
        console.close(timeout=1.0)
