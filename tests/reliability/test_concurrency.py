"""Two runs against one target at once: one proceeds, the other fails clearly naming the holder (or, asked to wait,
waits for it); their writes never interleave.

Each run is a forked process. An event log shared by all of them (O_APPEND writes) records when each takes and
releases the target's lock and every file each one renames into place; the log must show every write inside its
own run's hold of the lock, and holds that never overlap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback

import pytest

from xenbook.connectors.targets import open_host
from xenbook.engine import ledger
from xenbook.engine import lock
from xenbook.engine.runner import Runner

from . import samples, trees

SECTIONS = ["install", "boot", "dom0"]


def _log(log: str, **event) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps({"pid": os.getpid(), "t": time.monotonic(), **event}) + "\n").encode())
    finally:
        os.close(fd)


def _instrument(events: str, hold: str | None) -> None:
    """In a child: log lock and write events; with hold, pause in the first change until the file hold exists."""
    real_acquire, real_release, real_replace = lock.acquire, lock.release, os.replace
    real_apply = Runner._apply

    def acquire(host, run_id, **kw):
        got = real_acquire(host, run_id, **kw)
        _log(events, kind="acquire", run=run_id)
        return got

    def release(host, run_id):
        _log(events, kind="release", run=run_id)
        return real_release(host, run_id)

    def replace(src, dst, *a, **kw):
        _log(events, kind="write", path=str(dst))
        return real_replace(src, dst, *a, **kw)

    def apply(self, step, plan, result):
        if hold:
            _log(events, kind="holding")
            while not os.path.exists(hold):
                time.sleep(0.01)
        return real_apply(self, step, plan, result)

    lock.acquire, lock.release, os.replace, Runner._apply = acquire, release, replace, apply


def spawn(root: str, data: dict, events: str, *, hold: str | None = None, wait: float = 0.0,
          start: int | None = None) -> int:
    """Fork a run of SECTIONS on root; it logs "done" or "refused" with the error; start: a pipe to wait on."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        if start is not None:
            os.read(start, 1)
        _instrument(events, hold)
        report = samples.apply(root, data, SECTIONS, wait=wait)
        _log(events, kind="done", failed=[s.name for s in report.failed])
    except lock.LockHeld as e:
        _log(events, kind="refused", message=str(e))
    except BaseException:
        _log(events, kind="error", message=traceback.format_exc())
        code = 1
    finally:
        os._exit(code)


def read_events(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


def never_interleaved(events: list[dict]) -> None:
    holder = None
    for e in events:
        if e["kind"] == "acquire":
            assert holder is None, f"pid {e['pid']} took the lock while pid {holder} held it"
            holder = e["pid"]
        elif e["kind"] == "release":
            assert holder == e["pid"], f"pid {e['pid']} released a lock held by {holder}"
            holder = None
        elif e["kind"] == "write":
            assert holder == e["pid"], f"pid {e['pid']} wrote {e['path']} while holding no lock (holder {holder})"


def wait_for(path: str, kind: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in (read_events(path) if os.path.exists(path) else []) if e["kind"] == kind]
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError(f"no {kind} event in {timeout} s")


def reap(pid: int) -> None:
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


@pytest.fixture
def host(template, scratch, request):
    return samples.copy_host(template("bios-grub2", "fresh"), os.path.join(scratch, "concurrency", request.node.name))


def test_a_second_apply_fails_clearly_naming_the_holder(host, tmp_path, tally):
    events, go = str(tmp_path / "events"), str(tmp_path / "go")
    first = spawn(host, {}, events, hold=go)
    wait_for(events, "holding")
    before = trees.snapshot(host)
    with pytest.raises(lock.LockHeld) as held:
        samples.apply(host, {"boot": {"dom0_mem": "4096M"}}, SECTIONS)
    message = str(held.value)
    assert f"pid {first} " in message and "holds" in message and "xenbook unlock" in message, message
    cli = subprocess.run([sys.executable, "-m", "xenbook.cli.main", "apply", "--target", f"sample:{host}"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 1 and f"pid {first} " in cli.stderr, cli.stdout + cli.stderr
    plan = samples.apply(host, {}, SECTIONS, dry_run=True)  # a plan does not need the lock
    assert not plan.failed and trees.snapshot(host) == before, "a refused run or a plan changed the host"
    open(go, "w").close()
    reap(first)
    assert wait_for(events, "done")["failed"] == []
    again = samples.apply(host, {}, SECTIONS)
    assert {s.status for s in again.steps} == {"ok"}, again.summary()
    never_interleaved(read_events(events))
    tally["concurrent runs"] += 4


def test_a_second_apply_that_may_wait_runs_after_the_first(host, tmp_path, tally):
    events, go = str(tmp_path / "events"), str(tmp_path / "go")
    first = spawn(host, {}, events, hold=go)
    wait_for(events, "holding")
    second = spawn(host, {"boot": {"dom0_mem": "4096M"}}, events, wait=120)
    time.sleep(0.3)
    assert not [e for e in read_events(events) if e["pid"] == second and e["kind"] == "write"]
    open(go, "w").close()
    reap(first), reap(second)
    found = read_events(events)
    assert [e["pid"] for e in found if e["kind"] == "done"] == [first, second]
    assert all(e["failed"] == [] for e in found if e["kind"] == "done")
    never_interleaved(found)
    assert "dom0_mem=4096M" in open(os.path.join(host, "etc/default/grub")).read()
    blocks_of_runs(host)
    tally["concurrent runs"] += 2


@pytest.mark.parametrize("wait", [0.0, 120.0], ids=["fail-fast", "waiting"])
def test_racing_runs_never_interleave(host, tmp_path, wait, tally):
    events = str(tmp_path / "events")
    start_r, start_w = os.pipe()
    sizes = ["2048M", "3072M", "4096M", "1024M"]
    pids = [spawn(host, {"boot": {"dom0_mem": size}}, events, wait=wait, start=start_r) for size in sizes]
    os.write(start_w, b"x" * len(pids))  # all start at once
    for pid in pids:
        reap(pid)
    os.close(start_r), os.close(start_w)
    found = read_events(events)
    outcomes = {e["pid"]: e for e in found if e["kind"] in ("done", "refused")}
    assert sorted(outcomes) == sorted(pids), found
    done = [e for e in outcomes.values() if e["kind"] == "done"]
    assert done and all(e["failed"] == [] for e in done)
    for e in outcomes.values():
        if e["kind"] == "refused":
            assert "another xenbook run (pid " in e["message"] and "xenbook unlock" in e["message"], e["message"]
    if wait:
        assert len(done) == len(pids), "every waiting run gets its turn"
    never_interleaved(found)
    blocks_of_runs(host)
    tally["concurrent runs"] += len(pids)


def blocks_of_runs(root: str) -> None:
    """Each run's records in the target's ledger form one block: no run wrote between another's records."""
    with open_host(f"sample:{root}") as h:
        records = ledger.read_records(h)
    seen: list[str] = []
    for r in records:
        if not seen or r["run"] != seen[-1]:
            assert r["run"] not in seen, f"run {r['run']} wrote to the ledger again after another run did"
            seen.append(r["run"])
