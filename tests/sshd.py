"""A throwaway OpenSSH server on 127.0.0.1 with its own host and client keys, for the tests that need a real SSH
connection (tests/test_ssh.py, the Ansible collection's fleet test)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from remote_sshd import _free_port, _keygen  # noqa: E402,F401  (the bench's loopback sshd makes its keys alike)

SSHD = "/usr/sbin/sshd"


def _client_config(d: Path, name: str, known_hosts: str, key: Path, strict: bool = True) -> str:
    """Write a client ssh config for 127.0.0.1 trusting exactly the keys in known_hosts."""
    kh = d / f"{name}.known_hosts"
    kh.write_text(known_hosts)
    cfg = d / f"{name}.config"
    cfg.write_text(f"Host 127.0.0.1\n  IdentityFile {key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {kh}\n"
                   f"  GlobalKnownHostsFile /dev/null\n  UpdateHostKeys no\n  LogLevel ERROR\n"
                   + ("  StrictHostKeyChecking yes\n" if strict else ""))
    return str(cfg)


def _wait_for(proc: subprocess.Popen, port: int, log: Path) -> None:
    """Return once sshd accepts connections; fail the session when it exits or stays silent."""
    deadline = time.monotonic() + 15
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"test sshd did not start (exit {proc.returncode}): {log.read_text()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A throwaway sshd on a free local port; yields (port, client config, tmp dir)."""
    if not os.path.exists(SSHD) or os.geteuid() != 0:
        pytest.skip(f"needs {SSHD} (openssh-server) and root to start a test sshd")
    d = tmp_path_factory.mktemp("sshd")
    host_pub, client_pub = _keygen(d / "host_key"), _keygen(d / "client_key")
    (d / "authorized_keys").write_text(client_pub + "\n")
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\nAuthorizedKeysFile {d / 'authorized_keys'}\n"
        f"PidFile {d / 'sshd.pid'}\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    with open(d / "sshd.log", "wb") as log:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")],
                                stdout=subprocess.DEVNULL, stderr=log)
    try:
        _wait_for(proc, port, d / "sshd.log")
        config = _client_config(d, "good", f"[127.0.0.1]:{port} {host_pub}\n", d / "client_key")
        yield port, config, d
    finally:
        proc.kill()
        proc.wait()
