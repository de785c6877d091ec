"""The ledger and the lock: records around each change, nothing from dry or converged runs, interruptions told."""

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from xenbook.connectors.fake import FakeHost
from xenbook.connectors.remote import CommandFilesHost, spawn
from xenbook.connectors.rooted import ChrootHost
from xenbook.core.actions import Plan, RunCommand
from xenbook.core.commands import Command, Result
from xenbook.core.step import FileStep, Step
from xenbook.engine import ledger
from xenbook.engine import lock
from xenbook.engine.runner import Runner, run_id

SECRETISH = "line-that-only-the-diff-holds"
XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]


class DemoFile(FileStep):
    section, name, path = "demo", "DemoFile", "/etc/demo.conf"

    def __init__(self, text: str):
        self.text = text

    def render(self, host, old):
        return self.text


class DemoCommand(Step):
    section, name = "demo", "DemoCommand"

    def plan(self, host):
        if "/etc/done" in host.files:
            return Plan.ok("done")
        return Plan.change("run it", RunCommand(Command.of("demo-tool")))


def demo_host(die: bool = False) -> FakeHost:
    def tool(host, command):
        if die:
            raise KeyboardInterrupt  # the process dies in the middle of the step
        host.files["/etc/done"] = b"yes\n"
        return Result(0, "done\n", "")
    return FakeHost({"/etc/demo.conf": "old\n"}, {"demo-tool": tool})


def records(host) -> list[dict]:
    return ledger.read_records(host)


def test_apply_records_start_and_end_with_digests_never_diff_text():
    host = demo_host()
    report = Runner(host, dry_run=False).run([DemoFile(f"new\n{SECRETISH}\n"), DemoCommand()])
    assert report.count("changed") == 2
    kinds = [r["kind"] for r in records(host)]
    assert kinds == ["run-begin", "start", "end", "start", "end", "run-end"]
    start, end = records(host)[1:3]
    assert start["id"] == end["id"] and start["step"] == "DemoFile" and end["status"] == "changed"
    assert start["diffs"] == [{"path": "/etc/demo.conf", "sha256": ledger.digest(report.steps[0].diffs[0]["diff"])}]
    (write,) = end["writes"]
    assert write["after"] == ledger.digest(f"new\n{SECRETISH}\n") and write["before"].startswith(
        "/var/lib/xenbook/backups/") and host.files[write["before"]] == b"old\n"
    text = host.files[ledger.LEDGER].decode()
    assert SECRETISH not in text and "+new" not in text
    assert all(json.loads(line)["run"] == records(host)[0]["run"] for line in text.splitlines())
    assert records(host)[-1]["status"] == "finished" and records(host)[-1]["counts"] == {"changed": 2}
    assert host.modes[ledger.LEDGER] == 0o600 and lock.LOCK not in host.files


def test_dry_run_writes_nothing_not_even_the_ledger_or_the_lock():
    host = demo_host()
    before = dict(host.files)
    Runner(host, dry_run=True).run([DemoFile("new\n"), DemoCommand()])
    assert host.files == before and not host.writes


def test_a_converged_apply_appends_nothing():
    host = demo_host()
    Runner(host, dry_run=False).run([DemoFile("new\n"), DemoCommand()])
    snapshot = dict(host.files)
    again = Runner(host, dry_run=False).run([DemoFile("new\n"), DemoCommand()])
    assert {s.status for s in again.steps} == {"ok"}
    assert host.files == snapshot


def test_a_step_that_never_ended_is_reported_interrupted_once():
    host = demo_host(die=True)
    with pytest.raises(KeyboardInterrupt):
        Runner(host, dry_run=False).run([DemoFile("new\n"), DemoCommand()])
    assert [r["kind"] for r in records(host)][-2:] == ["start", "run-end"]
    assert records(host)[-1]["status"] == "stopped: KeyboardInterrupt"
    assert lock.LOCK not in host.files  # a living process releases its lock even when it stops

    host.commands["demo-tool"] = lambda h, c: (h.files.__setitem__("/etc/done", b"yes\n"), Result(0))[1]
    size = len(host.files[ledger.LEDGER])
    plan = Runner(host, dry_run=True).run([DemoFile("new\n"), DemoCommand()])
    assert [(i["section"], i["step"]) for i in plan.interrupted] == [("demo", "DemoCommand")]
    assert len(host.files[ledger.LEDGER]) == size, "a dry run appended to the ledger"

    applied = Runner(host, dry_run=False).run([DemoFile("new\n"), DemoCommand()])
    assert [i["step"] for i in applied.interrupted] == ["DemoCommand"]
    assert "interrupted earlier: demo/DemoCommand" in applied.summary()
    assert "Interrupted</b>: step DemoCommand" in applied._repr_html_()
    marks = [r for r in records(host) if r["kind"] == "interrupted"]
    assert [(m["step"], m["of_run"]) for m in marks] == [("DemoCommand", records(host)[0]["run"])]
    assert applied.count("changed") == 1 and "/etc/done" in host.files
    assert not Runner(host, dry_run=False).run([DemoFile("new\n"), DemoCommand()]).interrupted


def test_a_dry_run_does_not_call_a_running_apply_interrupted():
    host = demo_host()
    running = run_id()
    host.makedirs("/var/lib/xenbook")
    assert lock.acquire(host, running)
    ledger.append_record(host, "start", running, id=f"{running}/1/1", section="demo", step="DemoCommand")
    assert Runner(host, dry_run=True).run([DemoCommand()]).interrupted == []


def test_a_line_torn_by_a_crash_is_skipped():
    host = demo_host()
    Runner(host, dry_run=False).run([DemoFile("new\n")])
    host.files[ledger.LEDGER] += b'{"kind": "start", "run": "x", "id": "x/1/1", "sec'
    assert [r["kind"] for r in records(host)] == ["run-begin", "start", "end", "run-end"]


def test_run_ids_are_unique_and_start_with_the_time():
    ids = {run_id() for _ in range(50)}
    assert len(ids) == 50 and all(i[:8] == time.strftime("%Y%m%d", time.gmtime()) for i in ids)


# the lock

def test_a_second_apply_fails_naming_the_holder():
    host = demo_host()
    assert lock.acquire(host, "other-run")
    with pytest.raises(lock.LockHeld) as e:
        Runner(host, dry_run=False).run([DemoFile("new\n")])
    holder = lock.read_holder(host)
    assert str(e.value).splitlines()[0] == (
        f"another xenbook run (pid {os.getpid()} on {socket.gethostname()} since {holder.since}) holds fake's lock "
        "at /var/lib/xenbook/lock; wait, or remove it if that run is dead")
    assert "xenbook unlock --target fake --run other-run" in str(e.value)
    assert host.files["/etc/demo.conf"] == b"old\n" and ledger.LEDGER not in host.files
    assert Runner(host, dry_run=True).run([DemoFile("new\n")]).count("would-change") == 1  # plans take no lock


def test_wait_takes_the_lock_once_it_is_free_and_gives_up_after_the_time():
    host = demo_host()
    lock.acquire(host, "other-run")
    with pytest.raises(lock.LockHeld, match=r"\(waited 0.3 s\)"):
        Runner(host, dry_run=False, wait=0.3).run([DemoFile("new\n")])
    threading.Timer(0.3, lock.release, (host, "other-run")).start()
    started = time.monotonic()
    report = Runner(host, dry_run=False, wait=10).run([DemoFile("new\n")])
    assert report.count("changed") == 1 and 0.2 < time.monotonic() - started < 5


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_dead_holder_is_named_dead_and_unlock_removes_only_its_lock():
    host = demo_host()
    host.makedirs("/var/lib/xenbook")
    dead = lock.Holder("dead-run", dead_pid(), socket.gethostname(), "2026-01-01T00:00:00Z", "fake")
    host.create_exclusive(lock.LOCK, dead.to_bytes())
    with pytest.raises(lock.LockHeld, match=f"pid {dead.pid} no longer runs on {dead.host}: that run is dead"):
        Runner(host, dry_run=False).run([DemoFile("new\n")])
    assert lock.read_holder(host) == dead, "a dead run's lock was taken over silently"
    with pytest.raises(Exception, match="held by run dead-run"):
        ledger.unlock(host, "another-run")
    ledger.unlock(host, "dead-run")
    assert lock.LOCK not in host.files and records(host)[-1]["kind"] == "unlocked"
    assert Runner(host, dry_run=False).run([DemoFile("new\n")]).count("changed") == 1


def test_a_holder_from_before_this_machine_restarted_is_dead_even_if_its_pid_runs_now():
    holder = lock.Holder("old-run", os.getpid(), socket.gethostname(), "2026-01-01T00:00:00Z", "fake", "other-boot")
    assert holder.alive_here() is (False if lock.boot_id() else True)
    assert lock.me("r", "fake").alive_here() is True


MALFORMED = [b"not json at all", b"[1, 2]", b'{"kind": "start", "id": "x/1/2", "section": "demo"}',
             b'{"v": 1, "kind": "end", "run": "r", "time": "t", "id": "x/1/1", "section": "demo", "step": "DemoFile", '
             b'"status": "changed", "reason": "", "writes": [{"path": 7}]}',
             b'{"v": 1, "kind": "run-end", "run": "r", "time": "t", "status": "finished", "counts": [], "steps": {}}']


def test_unlock_refuses_a_holder_that_still_runs_here():
    host = demo_host()
    lock.acquire(host, "live-run")
    with pytest.raises(lock.LockHeld, match="run live-run is alive"):
        ledger.unlock(host, "live-run")
    assert lock.read_holder(host).run == "live-run"


class ShellFilesHost(CommandFilesHost):
    """A command-based host running on this machine (the same scripts SSH and sudo hosts send)."""

    target = "sh-test"

    def _run_bytes(self, argv, stdin=None, *, timeout=None, on_line=None):
        return spawn(argv, stdin, timeout=timeout, on_line=on_line)


@pytest.mark.parametrize("kind", ["rooted", "commands"])
def test_hosts_append_and_create_exclusively(tmp_path, kind):
    host = ChrootHost(str(tmp_path)) if kind == "rooted" else ShellFilesHost()
    base = "/var" if kind == "rooted" else str(tmp_path)
    real = (lambda p: tmp_path / p.lstrip("/")) if kind == "rooted" else (lambda p: tmp_path.joinpath(p))
    host.makedirs(base)
    log, flag = f"{base}/ledger.jsonl", f"{base}/lock"
    host.append(log, b"one\n")
    host.append(log, b"two\n", mode=0o644)
    assert host.read_bytes(log) == b"one\ntwo\n"
    assert stat.S_IMODE(os.stat(real(log)).st_mode) == 0o600
    results = []
    threads = [threading.Thread(target=lambda n=n: results.append(host.create_exclusive(flag, f"{n}\n".encode())))
               for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    assert host.read_bytes(flag) in {f"{n}\n".encode() for n in range(6)}
    assert stat.S_IMODE(os.stat(real(flag)).st_mode) == 0o644


def test_cli_apply_refuses_a_held_lock_and_waits_when_asked(tmp_path):
    d = tmp_path / "h"
    subprocess.run(XENBOOK + ["sample", "init", str(d)], check=True, capture_output=True)
    (d / "var/lib/xenbook").mkdir(parents=True, exist_ok=True)
    holder = lock.Holder("busy-run", os.getpid(), socket.gethostname(), "2026-01-01T00:00:00Z", f"sample:{d}")
    (d / "var/lib/xenbook/lock").write_bytes(holder.to_bytes())
    args = XENBOOK + ["apply", "--target", f"sample:{d}", "--sections", "install"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert (f"another xenbook run (pid {os.getpid()} on {socket.gethostname()} since 2026-01-01T00:00:00Z) holds "
            f"sample:{d}'s lock at /var/lib/xenbook/lock; wait, or remove it if that run is dead") in proc.stderr
    proc = subprocess.run(args + ["--wait", "0.5"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "(waited 0.5 s)" in proc.stderr
    threading.Timer(1.0, (d / "var/lib/xenbook/lock").unlink).start()
    proc = subprocess.run(args + ["--wait", "60"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (d / "var/lib/xenbook/lock").exists()
