"""xenbook's steps and runner against a fixture tree reached over SSH, in one cold process: a check or an apply.

    python bench/remote_edits.py ROOT check|apply PORT CLIENT_CONFIG

The same steps as bench/xenbook_edits.py (the runbook's 11 file edits) through the real Runner, on a PrefixedHost:
an SshHost to root@127.0.0.1:PORT whose every path is mapped onto ROOT, a fixture tree on the machine the loopback
sshd serves. As on FixtureHost, findmnt is answered from the fixture's canned mount table and no other command is
run; the validators (bash -n, grub-script-check) run over SSH on the target, beside the file. Prints one JSON line
as xenbook_edits.py does."""

from __future__ import annotations

import sys
import time
from typing import Sequence

from xenbook.connectors.ssh import SshHost
from xenbook.core.commands import Command, Result
from xenbook.core.errors import HostError
from xenbook.core.host import FileInfo, Host, Validate, check_path
from xenbook.engine.runner import Runner


class PrefixedHost(Host):
    """Another host's files under ROOT: every path p of the steps is ROOT + p there.

    The fixture's networkd files are no network the SSH session rides on, so the host does not count as reached
    over the network (the guard against moving an uplink's addresses under a session does not apply)."""

    over_network = False

    def __init__(self, inner: Host, root: str):
        self.inner, self.root = inner, check_path(root).rstrip("/")
        self.target = inner.target

    def real(self, path: str) -> str:
        """The inner host's path of path."""
        return self.root + check_path(path)

    def outer(self, real: str) -> str:
        """The path of the inner host's path real (a candidate beside a file), which must lie under ROOT."""
        if not real.startswith(self.root + "/"):
            raise HostError(f"{real} on {self.target} is not under the fixture root {self.root}")
        return real[len(self.root):]

    def run(self, command: Command, *, timeout=None, on_line=None) -> Result:
        from fixture import canned
        out = canned(command.argv)
        if out is not None:
            return Result(0, out, "")
        return Result(127, "", f"{command.argv[0]}: not run on a benchmark fixture")

    def read_bytes(self, path: str) -> bytes | None:
        return self.inner.read_bytes(self.real(path))

    def stat(self, path: str) -> FileInfo | None:
        return self.inner.stat(self.real(path))

    def listdir(self, path: str) -> list[str] | None:
        return self.inner.listdir(self.real(path))

    def write_atomic(self, path: str, data: bytes, *, mode: int | None = None,
                     validate: Validate | None = None) -> None:
        self.inner.write_atomic(self.real(path), data, mode=mode,
                                validate=None if validate is None else lambda tmp: validate(self.outer(tmp)))

    def makedirs(self, path: str, mode: int = 0o755) -> None:
        self.inner.makedirs(self.real(path), mode)

    def remove(self, path: str) -> None:
        self.inner.remove(self.real(path))

    def remove_tree(self, path: str) -> None:
        self.inner.remove_tree(self.real(path))

    def copy_file(self, src: str, dst: str) -> None:
        self.inner.copy_file(self.real(src), self.real(dst))

    def append(self, path: str, data: bytes, *, mode: int = 0o600) -> None:
        self.inner.append(self.real(path), data, mode=mode)

    def create_exclusive(self, path: str, data: bytes, *, mode: int = 0o644) -> bool:
        return self.inner.create_exclusive(self.real(path), data, mode=mode)

    def exec_validator(self, argv: Sequence[str], path: str, data: bytes | None = None) -> Result | None:
        return self.inner.exec_validator(argv, self.real(path), data)

    def begin_run(self, dry_run: bool, scope: str = "") -> None:
        super().begin_run(dry_run, scope)
        # an ssh host's plan reads ahead what the last plan of the scope read: each fixture tree is a scope of its own
        self.inner.begin_run(dry_run, f"{scope}@{self.root}")

    def end_run(self) -> None:
        self.inner.end_run()

    def close(self) -> None:
        self.inner.close()


def main(argv: list[str]) -> int:
    root, mode, port, config = argv[0], argv[1], int(argv[2]), argv[3]
    from fixture import runbook_params
    from xenbook_edits import runbook_steps, told
    steps = runbook_steps(runbook_params())
    started = time.perf_counter()
    with PrefixedHost(SshHost("127.0.0.1", user="root", port=port, config=config), root) as host:
        return told(Runner(host, dry_run=mode == "check").run(steps), started)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
