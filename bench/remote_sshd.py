"""A loopback OpenSSH server for the benchmark's remote part, and SSH round trips counted from its log.

The server runs as root on a free port of 127.0.0.1 with throwaway host and client keys (as tests/test_ssh.py's
`server` fixture does), `LogLevel VERBOSE`, logging to a file (`sshd -D -e`). A client config trusts exactly its
host key. Every tool is counted the same way, on the server: at VERBOSE, sshd logs

    Accepted publickey for root from 127.0.0.1 port 50000 ssh2: ED25519 SHA256:...   (one per connection)
    Starting session: command for root from 127.0.0.1 port 50000 id 0                (one per exec request)
    Starting session: subsystem 'sftp' for root from 127.0.0.1 port 50000 id 1       (one per sftp session)

(OpenSSH's session.c, do_exec: "Starting session: %s%s%s for %s from %.200s port %d id %d"). A session is one
round trip at least: a request and its reply over the network. An sftp session can carry several requests, which
sshd does not log (its internal sftp server logs them to syslog only), so an sftp session counts as one.

Every session starts root's login shell, and Debian's bash reads ~/.bashrc when sshd starts it: a heavy one (the
benchmark machine's runs `pyenv init`, about 150 ms) would be added to every round trip of every tool. The server
sets HOME to an empty folder of its own (SetEnv), so a round trip costs what the tools and OpenSSH make it cost."""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
_SESSION = re.compile(r"Starting session: (command|shell|subsystem '[^']*'|forced-command[^ ]*) ")
_ACCEPTED = re.compile(r"Accepted (?:publickey|password|keyboard-interactive\S*) for ")


def count(log: str) -> dict[str, int]:
    """Connections and sessions (by kind: command, sftp, ...) in a stretch of sshd's log."""
    kinds: collections.Counter = collections.Counter()
    connections = 0
    for line in log.splitlines():
        m = _SESSION.search(line)
        if m:
            kind = m.group(1)
            kinds["sftp" if kind == "subsystem 'sftp'" else kind.split(" ")[0]] += 1
        elif _ACCEPTED.search(line):
            connections += 1
    return {"connections": connections, "sessions": sum(kinds.values()), "kinds": dict(sorted(kinds.items()))}


def _keygen(path: Path) -> str:
    """An ed25519 key pair without passphrase; the public key as 'type base64'."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)], check=True)
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sshd:
    """A running loopback sshd: where to reach it and how to count what it served."""

    port: int
    folder: Path
    proc: subprocess.Popen

    @property
    def client_config(self) -> Path:
        return self.folder / "client.config"

    @property
    def key(self) -> Path:
        return self.folder / "client_key"

    @property
    def known_hosts(self) -> Path:
        return self.folder / "known_hosts"

    @property
    def log(self) -> Path:
        return self.folder / "sshd.log"

    def mark(self) -> int:
        """Where the log ends now; since(mark) counts what came after."""
        return self.log.stat().st_size

    def since(self, mark: int) -> dict[str, int]:
        time.sleep(0.05)  # the session processes' last lines reach the log a moment after the client exits
        with open(self.log, "rb") as f:
            f.seek(mark)
            return count(f.read().decode(errors="replace"))

    def stop(self) -> None:
        """Stop the listener and the per-connection processes it forked (a control master's may still be open)."""
        children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == self.proc.pid]
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def unavailable() -> str:
    """Why no loopback sshd can be started here ("" when one can)."""
    missing = [p for p in (SSHD, shutil.which("ssh"), shutil.which("ssh-keygen")) if not p or not os.path.exists(p)]
    if os.geteuid() != 0:
        return "not measured: the loopback sshd needs root (run bash bench/run as root)"
    if missing:
        return f"not measured: {SSHD}, ssh and ssh-keygen are needed (install openssh-server and openssh-client)"
    return ""


def start(folder: Path) -> Sshd:
    """Start sshd on a free port of 127.0.0.1 (root only); its keys, configs and log in folder."""
    if unavailable():
        raise SystemExit(unavailable())
    if folder.exists():
        shutil.rmtree(folder)  # keys of an earlier run: ssh-keygen would not overwrite them
    (folder / "home").mkdir(parents=True)
    host_pub, client_pub = _keygen(folder / "host_key"), _keygen(folder / "client_key")
    (folder / "authorized_keys").write_text(client_pub + "\n")
    port = _free_port()
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile {folder / 'sshd.pid'}\nStrictModes no\n"
        "UsePAM no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nLogLevel VERBOSE\nMaxSessions 50\nMaxStartups 100\n"
        "Subsystem sftp internal-sftp\n" f"SetEnv HOME={folder / 'home'}\n")
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub}\n")
    (folder / "client.config").write_text(
        f"Host 127.0.0.1\n  IdentityFile {folder / 'client_key'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {folder / 'known_hosts'}\n  GlobalKnownHostsFile /dev/null\n  UpdateHostKeys no\n"
        "  StrictHostKeyChecking yes\n  LogLevel ERROR\n")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    with open(folder / "sshd.log", "wb") as log:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(folder / "sshd_config")], stdout=subprocess.DEVNULL,
                                stderr=log, start_new_session=True)
    deadline = time.monotonic() + 15
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return Sshd(port, folder, proc)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"the loopback sshd did not start (exit {proc.poll()}): {(folder / 'sshd.log').read_text()}")
