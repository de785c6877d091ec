"""Durability under power loss: the fsync orderings of a whole-runbook apply, read from its syscall trace.

A SIGKILL cannot tell an fsync from its absence (the crash tier says so), so these tests read what the process
asked of the kernel (strace -f) and check the orderings the README promises (durability.py): a candidate's fsync
before its rename, its directory's fsync after, a backup's file and directory fsynced before the ledger record that
names it, each ledger record fsynced before the next change. Then, for every os.fsync call in the rooted hosts, the
same apply with that one call skipped must be caught."""

from __future__ import annotations

import os
import sys
from collections import Counter

import pytest

from xenbook_sample.host import init_sample

from . import durability, samples
from .without_fsync import sites

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PARAMS = os.path.join(ROOT, "examples", "sample-host.yaml")
CHANGE = ["--set", "boot.dom0_mem=4096M"]  # the second apply rewrites /etc/default/grub: backups and their records
NO_STRACE = "strace is not installed (apt-get install strace, or pacman -S strace): the syscall trace needs it"

# What the check must report when the os.fsync of each call site (function, code) is skipped.
EXPECTED = {
    ("write_atomic", "os.fsync(f.fileno())"): "was renamed onto",
    ("write_atomic", "os.fsync(dfd)"): "was not followed by an fsync of",
    ("copy_file", "os.fsync(f.fileno())"): "before an fsync of its bytes",
    ("_fsync_folders", "os.fsync(dfd)"): "after it was created",
    ("_open_write", "os.fsync(fd)"): "was not fsynced before",
}

needs_strace = pytest.mark.skipif(durability.strace() is None, reason=NO_STRACE)


def env() -> dict:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": ROOT + (os.pathsep + path if path else "")}


def apply(trace: str, root: str, *prefix: str, extra: list[str] | None = None) -> bytes:
    """Apply the sample runbook to the sample host at root under strace; what it appended to the ledger."""
    ledger = durability.ledger_path(root)
    before = os.path.getsize(ledger) if os.path.exists(ledger) else 0
    argv = [sys.executable, "-m", *(prefix or ("xenbook.cli.main",)), "apply", "--params", PARAMS,
            "--target", f"sample:{root}", *(extra or [])]
    done = durability.traced(argv, trace, env=env(), cwd=ROOT)
    assert done.returncode in (0, 3), f"the apply failed (exit {done.returncode}):\n{done.stdout[-3000:]}" \
                                      f"{done.stderr[-3000:]}"
    with open(ledger, "rb") as f:
        return f.read()[before:]


@pytest.fixture(scope="module")
def runs(scratch):
    """A sample host applied twice under strace (the second apply after a parameter changed), and the copy of it
    between the two applies; (trace, root, what it appended to the ledger) for each apply."""
    base = os.path.join(scratch, "durability")
    root = os.path.join(base, "host")
    os.makedirs(base)
    init_sample(root)
    first = os.path.join(base, "first.trace")
    done = [(first, root, apply(first, root))]
    samples.copy_host(root, os.path.join(base, "after-first"))
    second = os.path.join(base, "second.trace")
    done.append((second, root, apply(second, root, extra=CHANGE)))
    return base, done


@needs_strace
def test_a_whole_runbook_apply_keeps_the_fsync_orderings(runs, tally):
    base, done = runs
    seen = Counter()
    problems = [p for trace, root, appended in done
                for p in durability.check(trace, root, appended, seen=seen)]
    tally["fsync orderings"] += sum(seen.values())
    tally["losses"] += len(problems)
    assert not problems, "\n".join(problems)
    assert seen["candidate renames"] > 20 and seen["ledger records"] > 20 and seen["backups named"] >= 5, seen


def test_every_fsync_site_is_known():
    found = {(s.function, s.code) for s in sites()}
    assert found == set(EXPECTED), "an os.fsync call of rooted.py was added or removed: say in EXPECTED which " \
                                   "broken promise the trace check reports without it"


@needs_strace
@pytest.mark.parametrize("site", sites(), ids=str)
def test_the_check_finds_each_fsync_left_out(site, runs, tally):
    base, _ = runs
    root = samples.copy_host(os.path.join(base, "after-first"), os.path.join(base, f"without-{site.line}"))
    trace = os.path.join(base, f"without-{site.line}.trace")
    appended = apply(trace, root, "tests.reliability.without_fsync", str(site.line), extra=CHANGE)
    problems = durability.check(trace, root, appended)
    tally["fsyncs left out"] += 1
    expected = EXPECTED.get((site.function, site.code), "")
    assert any(expected in p for p in problems), \
        f"without {site} the check reported {len(problems)} problems, none with {expected!r}:\n" + "\n".join(problems)


COMMANDS_HOST = """
import json, os, sys
from xenbook.connectors import remote

class Here(remote.CommandFilesHost):
    target = "here"
    def _run_bytes(self, argv, stdin=None, *, timeout=None, on_line=None):
        return remote.spawn(tuple(argv), stdin, timeout=timeout, on_line=on_line)

top = sys.argv[1]
host = Here()
host.makedirs(top + "/etc")
host.write_atomic(top + "/etc/grub", b"old\\n")
host.write_atomic(top + "/etc/grub", b"new\\n")
host.makedirs(top + "/backups/run/etc", 0o700)
host.copy_file(top + "/etc/grub", top + "/backups/run/etc/grub")
record = {"kind": "end", "step": "Here", "writes": [{"path": top + "/etc/grub", "before": top + "/backups/run/etc/grub"}]}
host.append(top + "/ledger.jsonl", (json.dumps(record) + "\\n").encode())
"""


@needs_strace
def test_the_ssh_scripts_keep_the_fsync_orderings(tmp_path, tally):
    """The SSH and sudo hosts' constant scripts, run here under sh: sync(1) fsyncs what they write and copy."""
    trace = str(tmp_path / "commands.trace")
    top = str(tmp_path / "tree")
    done = durability.traced([sys.executable, "-c", COMMANDS_HOST, top], trace, env=env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = Counter()
    with open(f"{top}/ledger.jsonl", "rb") as f:
        problems = durability.check(trace, "/", f.read(), seen=seen, ledger=f"{top}/ledger.jsonl")
    tally["fsync orderings"] += sum(seen.values())
    assert not problems, "\n".join(problems)
    assert seen == {"candidate renames": 2, "ledger records": 1, "backups named": 1}, seen
