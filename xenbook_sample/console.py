"""`xl console NAME` on the sample host, SIMULATED on a real terminal: the guest's serial getty (a login prompt).

SampleHost.terminal() runs `python -m xenbook_sample.console ROOT -- xl console [-t pv|serial] [-n N] NAME` on a
pseudo-terminal. As the real xl does, it refuses a domain that is not running ("NAME is an invalid domain identifier
(rc=-6)") and detaches on Ctrl+] (0x1d). Attached, it shows what Arch's serial-getty@hvc0 prints on a guest's
console: the issue line and "NAME login: "; a login name asks for a password (not echoed), and any password is
refused: the sample's guests have no system to log in to."""

from __future__ import annotations

import os
import sys
import termios
import tty

from xenbook_sample import xl as xltool
from xenbook_sample.host import SampleHost

ESCAPE = b"\x1d"  # Ctrl+], xl console's escape character (tools/xl/xl_console.c, xenconsole)


def _write(text: str) -> None:
    os.write(1, text.replace("\n", "\r\n").encode())


def session(name: str, kernel: str, read=lambda: os.read(0, 1)) -> int:
    """The login prompt until Ctrl+] or the end of input; exit status 0 as xl console's."""
    prompt = f"{name} login: "
    _write(f"\nArch Linux {kernel} (hvc0)\n\n{prompt}")
    line, user = b"", None
    while True:
        ch = read()
        if not ch or ch == ESCAPE:
            _write("\n")
            return 0
        if ch in (b"\r", b"\n"):
            _write("\n")
            if user is None and line.strip():
                user = line.decode(errors="replace").strip()
                _write("Password: ")
            elif user is not None:
                _write("\nLogin incorrect\n[simulated] the sample host's guests have no system to log in to\n\n"
                       + prompt)
                user = None
            else:
                _write(prompt)
            line = b""
        elif ch in (b"\x7f", b"\x08"):
            if line:
                line = line[:-1]
                if user is None:
                    _write("\b \b")
        elif ch == b"\x03":
            _write("^C\n" + prompt)
            line, user = b"", None
        elif ch >= b" ":
            line += ch
            if user is None:
                os.write(1, ch)


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[1] != "--" or argv[2:4] != ["xl", "console"]:
        sys.stderr.write("usage: python -m xenbook_sample.console ROOT -- xl console [-t pv|serial] [-n N] NAME\n")
        return 2
    root, args = argv[0], argv[4:]
    names = [a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] not in ("-t", "-n"))]
    if len(names) != 1:
        sys.stderr.write("'xl console' requires at least 1 argument.\n\n")
        return 2
    host = SampleHost(os.path.abspath(root))
    state, problem = xltool.context(host)
    if problem is not None:
        sys.stderr.write(problem.stderr)
        return problem.returncode
    dom = xltool.find(state, names[0])
    if dom is None or dom["domid"] == 0:
        sys.stderr.write(f"{names[0]} is an invalid domain identifier (rc=-6)\n" if dom is None else
                         "[simulated] dom0's console is the machine's own; xenbook's sample host has none\n")
        return 1
    saved = termios.tcgetattr(0) if os.isatty(0) else None
    if saved is not None:
        tty.setraw(0)
    try:
        return session(dom["name"], state["running"].get("kernel_release", "linux"))
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
