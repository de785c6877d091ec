"""The ssh target's agent against a real OpenSSH server on 127.0.0.1: one session for everything, the same answers
as one command per operation, a plan's reads batched ahead, and what a broken host or a hostile file does to it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.sshd import server  # noqa: E402,F401  (the session's throwaway sshd)
from xenbook.connectors.ssh import STATS_ENV, SshHost  # noqa: E402
from xenbook.core.commands import Command  # noqa: E402
from xenbook.core.errors import HostError, TargetError  # noqa: E402
from xenbook.core.step import FileStep  # noqa: E402
from xenbook.engine.runner import Runner  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "xenbook" / "read-ahead"


def _open(server, **kw) -> SshHost:
    port, config, _ = server
    return SshHost("127.0.0.1", user="root", port=port, config=config, **kw)


def _tree(root: Path) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "plain").write_text("one\n")
    (root / "etc" / "bytes").write_bytes(bytes(range(256)) * 4096)  # 1 MiB, every byte value
    (root / "etc" / "new\nline").write_text("odd name\n")
    (root / "etc" / b"latin-\xe9".decode(errors="surrogateescape")).write_text("not UTF-8 name\n")
    os.mkfifo(root / "etc" / "fifo")
    return root


def _ops(h: SshHost, root: Path) -> list:
    """Every read kind on every path of the tree, as the host answers them (errors as their text)."""
    out = []
    for name in sorted(h.listdir(str(root / "etc"))) + ["missing", "plain/below"]:
        p = str(root / "etc" / name)
        for op in (h.stat, h.read_bytes, h.listdir):
            try:
                out.append((name, op.__name__, op(p)))
            except HostError as e:
                out.append((name, op.__name__, "error", str(e).split(" on ssh:")[0]))
    return out


def test_every_operation_goes_through_one_session_with_the_answers_of_one_command_each(server, tmp_path):
    root = _tree(tmp_path)
    with _open(server) as a, _open(server, agent=False) as c:
        by_agent, by_commands = _ops(a, root), _ops(c, root)
        assert a.run(Command.of("sh", "-c", "echo out; echo err >&2; exit 7")).returncode == 7
        assert a.transport == "agent" and a.sessions == 1
        assert c.transport == "commands" and c.sessions > 20
    assert by_agent == by_commands
    assert any(r[0] == "fifo" and r[2] == "error" and "a FIFO (named pipe)" in r[3] for r in by_agent)
    assert dict(((r[0], r[1]), r[2]) for r in by_agent)[("bytes", "read_bytes")] == bytes(range(256)) * 4096


def test_commands_keep_their_exit_codes_stdin_streams_and_timeouts(server):
    with _open(server) as h:
        big = os.urandom(3 << 20)
        assert h._run_bytes(("cat",), big)[1] == big and len(h.run(Command(("cat",), big)).stdout) > 0
        r = h.run(Command.of("sh", "-c", "echo out; echo err >&2; exit 7"))
        assert (r.returncode, r.stdout, r.stderr) == (7, "out\n", "err\n")
        lines = []
        r = h.run(Command.of("sh", "-c", "for i in 1 2 3; do echo line $i; done"), on_line=lines.append)
        assert lines == ["line 1", "line 2", "line 3"] and r.stdout == "line 1\nline 2\nline 3\n"
        r = h.run(Command.of("sleep", "30"), timeout=0.5)
        assert r.returncode == 124 and "timed out" in r.stderr
        r = h.run(Command.of("no-such-program-here"))
        assert r.returncode == 127
        assert h.run(Command.of("printf", "%s", "a'b\"c $(x) `y`")).stdout == "a'b\"c $(x) `y`"
        assert h.sessions == 1


def test_a_host_without_python3_falls_back_to_one_command_per_operation(server, tmp_path):
    (tmp_path / "f").write_text("x\n")
    h = _open(server)
    h.python = "python3-not-installed-here"
    with h:
        assert h.read_text(str(tmp_path / "f")) == "x\n" and h.stat(str(tmp_path / "g")) is None
        assert h.transport == "commands" and "exit 127" in h.transport_note and h.sessions == 3


def test_an_agent_that_dies_is_a_clear_error_not_a_hang_or_a_wrong_answer(server, tmp_path):
    (tmp_path / "f").write_text("x\n")
    with _open(server) as h:
        assert h.read_text(str(tmp_path / "f")) == "x\n"
        with pytest.raises(TargetError, match="ended in the middle of a request"):
            h.run(Command.of("sh", "-c", "kill -9 $PPID; sleep 5"))  # the agent on the host dies mid-request
        with pytest.raises(TargetError):
            h.run(Command.of("true"))
    with _open(server) as h:
        assert h.read_text(str(tmp_path / "f")) == "x\n"
        h.agent().proc.kill()  # the connection here ends
        with pytest.raises(TargetError, match="ended in the middle of a request"):
            h.read_text(str(tmp_path / "f"))
    with _open(server) as h, pytest.MonkeyPatch.context() as mp:
        mp.setattr("xenbook.connectors.agent.STALL", 0.5)
        h.run(Command.of("true"))
        with pytest.raises(TargetError, match="gave no answer to run within 1 s: the session was ended"):
            h.run(Command.of("sh", "-c", f"echo $PPID > {tmp_path / 'pid'}; kill -STOP $PPID"), timeout=0.5)
    os.kill(int((tmp_path / "pid").read_text()), signal.SIGCONT)  # the stalled agent goes on: finds its input ended


def test_an_unreachable_host_is_still_named_as_such(server, tmp_path):
    port, config, _ = server
    with SshHost("127.0.0.1", user="root", port=1, config=config) as h:
        with pytest.raises(TargetError, match="cannot connect to ssh:root@127.0.0.1:1"):
            h.read_bytes("/etc/hostname")


class _File(FileStep):
    section = "test"

    def __init__(self, path: str, text: str):
        self.name, self.path, self.text = f"File({path})", path, text

    def render(self, host, old):
        return self.text


def _plan(h: SshHost, root: Path):
    steps = [_File(str(root / "etc" / n), "wanted\n") for n in ("a", "b", "c", "d")]
    report = Runner(h, dry_run=True).run(steps)
    return [(r.name, r.status) for r in report.steps]


def test_a_plan_reads_ahead_what_the_last_plan_read_and_still_sees_changes(server, tmp_path, cache, monkeypatch):
    root = tmp_path / "host"
    (root / "etc").mkdir(parents=True)
    for n in "abcd":
        (root / "etc" / n).write_text("wanted\n" if n in "ab" else "old\n")
    stats = tmp_path / "stats.jsonl"
    monkeypatch.setenv(STATS_ENV, str(stats))
    with _open(server) as h:
        first = _plan(h, root)
    (root / "etc" / "c").write_text("wanted\n")  # changed between the plans: the batch reads it afresh
    with _open(server) as h:
        second = _plan(h, root)
    with _open(server, agent=False) as h:
        by_commands = _plan(h, root)
    runs = [json.loads(line) for line in stats.read_text().splitlines()]
    assert [s for _, s in first] == ["ok", "ok", "would-change", "would-change"]
    assert second == by_commands and [s for _, s in second] == ["ok", "ok", "ok", "would-change"]
    assert runs[1]["read_ahead_hits"] > 0 and runs[1]["exchanges"] < runs[0]["exchanges"]
    assert runs[0]["sessions"] == runs[1]["sessions"] == 1
    remembered = json.loads(next(cache.iterdir()).read_text())
    assert all(set(op) == {"op", "path"} for op in remembered)  # requests only, never the answers


def test_an_apply_never_answers_from_the_read_ahead(server, tmp_path, cache):
    root = tmp_path / "host"
    (root / "etc").mkdir(parents=True)
    with _open(server) as h:
        _plan(h, root)
        Runner(h, dry_run=False).run([_File(str(root / "etc" / "a"), "wanted\n")])
        assert h._ahead.hits == 0
    assert (root / "etc" / "a").read_text() == "wanted\n"


TOUCH = '[{"op": "run", "argv": ["touch", "/tmp/x"], "timeout": null}]'


@pytest.mark.parametrize("memory,mode,owner", [
    ('[{"op": "run", "argv": ["touch", "/tmp/x"], "timeout": Infinity}]', 0o600, 0),
    ("not json", 0o600, 0), ("{}", 0o600, 0), ('[{"op": "run", "argv": ["touch", "/tmp/x"]}]', 0o600, 0),
    ('[{"op": "run", "argv": "touch /tmp/x", "timeout": null}]', 0o600, 0),
    ('[{"op": "run", "argv": ["touch", "/tmp/x"], "timeout": -1}]', 0o600, 0),
    ('[{"op": "read", "path": "relative"}]', 0o600, 0), ('[{"op": "read", "path": 7}]', 0o600, 0),
    (TOUCH, 0o622, 0), (TOUCH, 0o600, 4321)])
def test_a_broken_foreign_or_hostile_read_ahead_memory_is_ignored(server, tmp_path, cache, memory, mode, owner):
    root = tmp_path / "host"
    (root / "etc").mkdir(parents=True)
    marker = tmp_path / "touched"
    with _open(server) as h:
        h.begin_run(True, "test")
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        h._ahead.file.write_text(memory.replace("/tmp/x", str(marker)))
        os.chmod(h._ahead.file, mode)
        os.chown(h._ahead.file, owner, -1)
        assert [s for _, s in _plan(h, root)] == ["would-change"] * 4
        assert h._ahead.hits == 0
    assert not marker.exists()


def test_a_plan_runs_its_commands_in_the_batch_and_an_apply_runs_them_itself(server, tmp_path, cache):
    counter = tmp_path / "count"
    counter.write_text("")
    probe = Command.of("sh", "-c", f"echo x >> {counter}; wc -l < {counter}")
    with _open(server) as h:
        for dry in (True, True, False):
            h.begin_run(dry, "probe")
            first, second = h.run(probe).stdout, h.run(probe).stdout
            h.end_run()
            assert (first == second) == dry  # a plan has one answer per request: nothing changes in a plan
    assert counter.read_text().count("x") == 1 + 1 + 2  # plan 1 ran it, plan 2 in its batch, the apply twice


def test_the_whole_runbook_plans_the_same_through_the_agent_read_ahead_or_not_as_with_commands(server, cache, tmp_path,
                                                                                              monkeypatch):
    """This machine over the loopback sshd, every section: the plan's every line is the same three ways."""
    from xenbook.cli.main import load_params
    from xenbook.engine.registry import run_sections

    port, config, _ = server
    params = load_params(str(Path(__file__).resolve().parents[1] / "examples" / "sample-host.yaml"),
                         f"ssh:root@127.0.0.1:{port}", None, ("boot.dom0_max_vcpus=1",), ssh_config=config)

    def plan(**kw):
        with _open(server, **kw) as h:
            report = run_sections(h, params, dry_run=True)
            # free space and the like move between the plans on a busy machine: numbers are left out
            return h, [(s.section, s.name, s.status, re.sub(r"\d+", "N", s.reason), s.diffs, s.commands)
                       for s in report.steps]

    first_host, first = plan()
    again_host, again = plan()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "none"))  # no read-ahead: one command per read
    commands_host, by_commands = plan(agent=False)
    assert first == again == by_commands and len(first) > 20
    assert first_host.sessions == again_host.sessions == 1 and commands_host.sessions > 60
    assert again_host.agent().exchanges <= 3 < first_host.agent().exchanges


def test_without_python3_a_plan_batches_its_reads_in_one_command(server, tmp_path, cache):
    root = _tree(tmp_path / "host")
    (root / "etc" / "c").write_text("wanted\n")
    os.chmod(root / "etc" / "c", 0o640)

    def without_python():
        h = _open(server)
        h.python = "python3-not-installed-here"
        return h

    def reads(h):
        h.begin_run(True, "reads")
        try:
            return _plan(h, root), _ops(h, root)
        finally:
            h.end_run()

    with without_python() as h:
        first = reads(h)
        first_sessions = h.sessions
    with without_python() as h:
        again = reads(h)
        assert h._ahead.hits > 20 and h.sessions < first_sessions / 4
    with _open(server) as h:
        assert reads(h) == first == again


def _writes(h: SshHost, root: Path) -> list:
    """The write operations' outcomes on a tree made for them: what each left, or the words of its error."""
    (root / "real").mkdir(parents=True)
    (root / "real" / "target").write_text("old\n")
    os.chmod(root / "real" / "target", 0o640)
    os.chown(root / "real" / "target", 1234, 2345)
    (root / "link").symlink_to(root / "real" / "target")
    (root / "real" / ".target.xenbook-AbC123").write_text("left by a killed run\n")
    (root / "adir").mkdir()
    out = []

    def attempt(label, call):
        try:
            out.append((label, call()))
        except HostError as e:
            out.append((label, "error", re.sub(r" on ssh:\S+", "", str(e))))

    attempt("through a link", lambda: h.write_atomic(str(root / "link"), b"new\n"))
    attempt("mode given", lambda: h.write_atomic(str(root / "real" / "fresh"), b"x", mode=0o600))
    attempt("no folder", lambda: h.write_atomic(str(root / "nowhere" / "f"), b"x"))
    attempt("a directory", lambda: h.write_atomic(str(root / "adir"), b"x"))
    attempt("append new", lambda: h.append(str(root / "log"), b"one\n", mode=0o640))
    attempt("append again", lambda: h.append(str(root / "log"), b"two\n", mode=0o600))
    attempt("create", lambda: h.create_exclusive(str(root / "lock"), b"me\n", mode=0o644))
    attempt("create again", lambda: h.create_exclusive(str(root / "lock"), b"other\n"))
    attempt("copy", lambda: h.copy_file(str(root / "real" / "target"), str(root / "backup" / "deep" / "target")))
    attempt("copy missing", lambda: h.copy_file(str(root / "missing"), str(root / "backup" / "x")))
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        out.append((str(p.relative_to(root)), oct(st.st_mode), st.st_uid, st.st_gid,
                    None if p.is_dir() or p.is_symlink() else p.read_bytes()))
    out.append(("copy keeps times", (root / "backup" / "deep" / "target").stat().st_mtime_ns
                == (root / "real" / "target").stat().st_mtime_ns))
    return out


def test_writes_through_the_agent_leave_what_the_scripts_leave(server, tmp_path):
    with _open(server) as a, _open(server, agent=False) as c:
        by_agent, by_commands = _writes(a, tmp_path / "a"), _writes(c, tmp_path / "c")
        assert a.sessions == 1 and a.transport == "agent"
    assert dict(x[:2] for x in by_agent)["through a link"] is None
    assert ("target", "0o100640", 1234, 2345, b"new\n") in [(x[0].split("/")[-1],) + x[1:] for x in by_agent]
    assert not any(".xenbook-" in x[0] for x in by_agent)  # the killed run's candidate is gone
    # the same files, modes, owners and contents; errors the same but for the words of the tool that refused
    assert [x for x in by_agent if x[1] != "error"] == [x for x in by_commands if x[1] != "error"]
    assert [x[0] for x in by_agent if x[1] == "error"] == [x[0] for x in by_commands if x[1] == "error"] \
        == ["no folder", "a directory", "copy missing"]


def _lifecycle(host_for, root: Path) -> list:
    """The runbook's real file steps on a fixture tree: apply, apply again, plan, restore the first apply, plan; the
    statuses of each run and the tree after each (modes, owners, bytes; xenbook's records left out)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import fixture
    from xenbook.engine.restore import restore_steps
    from xenbook_edits import runbook_steps

    fixture.runbook_tree(root)
    steps = runbook_steps(fixture.runbook_params())

    def tree():
        return sorted((str(p.relative_to(root)), p.lstat().st_mode, p.lstat().st_uid,
                       None if p.is_dir() or p.is_symlink() else p.read_bytes())
                      for p in root.rglob("*") if "xenbook" not in str(p.relative_to(root)))

    out = []
    with host_for(root) as h:
        first = Runner(h, dry_run=False).run(steps)
        for dry in (False, True):
            out.append([s.status for s in Runner(h, dry_run=dry).run(steps).steps])
        out.append(tree())
        out.append([s.status for s in Runner(h, dry_run=False).run(restore_steps(h, first_run(h))).steps])
        out.append([s.status for s in Runner(h, dry_run=True).run(steps).steps])
        out.append(tree())
    out.insert(0, [s.status for s in first.steps])
    return out


def first_run(h) -> str:
    from xenbook.engine.ledger import read_records
    return next(r["run"] for r in read_records(h) if r["kind"] == "end")


def test_apply_again_plan_and_restore_over_the_agent_as_on_the_tree_itself(server, tmp_path, cache):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from remote_edits import PrefixedHost
    from xenbook_edits import FixtureHost

    by_agent = _lifecycle(lambda root: PrefixedHost(_open(server), str(root)), tmp_path / "ssh")
    on_tree = _lifecycle(lambda root: FixtureHost(str(root)), tmp_path / "local")
    assert by_agent == on_tree
    assert set(by_agent[0]) == {"changed"} and set(by_agent[1]) == set(by_agent[2]) == {"ok"}
    # restored: dom0's files as the fixture had them (the guest's, below xenbook's own folder, are not restored)
    assert set(by_agent[4]) == {"changed"} and by_agent[5] == ["would-change"] * 5 + ["ok"] * 4


def _script(path: Path, text: str) -> str:
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)
    return str(path)


def test_a_host_that_stalls_or_answers_junk_is_an_error_in_bounded_time(server, tmp_path, monkeypatch):
    (tmp_path / "f").write_text("x\n")
    monkeypatch.setattr("xenbook.connectors.agent.FILES", 1)
    with _open(server) as h:  # the agent stops (a hung disk would do the same) while a file is asked for
        h.run(Command.of("sh", "-c", f"echo $PPID > {tmp_path / 'pid'}"))
        os.kill(int((tmp_path / "pid").read_text()), signal.SIGSTOP)
        with pytest.raises(TargetError, match="gave no answer to read within 1 s"):
            h.read_bytes(str(tmp_path / "f"))
    os.kill(int((tmp_path / "pid").read_text()), signal.SIGCONT)
    monkeypatch.setattr("xenbook.connectors.agent.START", 1)
    h = _open(server)
    h.python = _script(tmp_path / "silent", "exec sleep 30\n")  # a python3 that never starts the agent
    with h, pytest.raises(TargetError, match="did not answer within 1 s"):
        h.read_bytes(str(tmp_path / "f"))
    h = _open(server)  # an "agent" whose first answer is no JSON: the frames would be out of step after it
    h.python = _script(tmp_path / "junk", "printf 'xenbook-agent 1\\n\\000\\000\\000\\003abc\\000\\000\\000\\000'; "
                                          "exec cat >/dev/null\n")
    with h, pytest.raises(TargetError, match="answered what xenbook cannot read"):
        h.read_bytes(str(tmp_path / "f"))


@pytest.mark.parametrize("agent", [True, False])
def test_fifos_and_link_loops_where_files_should_be_are_refused_not_waited_on(server, tmp_path, agent):
    os.mkfifo(tmp_path / "ledger")
    os.mkfifo(tmp_path / "lock")
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    def hung(*_):
        raise TimeoutError("a FIFO was waited on")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)  # a FIFO that is waited on would hang the test: fail it instead
    try:
        with _open(server, agent=agent) as h:
            with pytest.raises(HostError, match="a FIFO"):
                h.append(str(tmp_path / "ledger"), b"record\n")
            with pytest.raises(HostError, match="a FIFO"):
                h.create_exclusive(str(tmp_path / "lock"), b"me\n")
            with pytest.raises(HostError, match="leads nowhere" if agent else "does not exist"):
                h.write_atomic(str(tmp_path / "loop1"), b"x")  # readlink -f: no such directory
            with pytest.raises(HostError, match="a FIFO"):
                h.copy_file(str(tmp_path / "ledger"), str(tmp_path / "backup"))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_an_apply_in_another_thread_never_answers_from_a_plans_batch(server, tmp_path, cache):
    import threading
    f = tmp_path / "f"
    f.write_text("old")
    with _open(server) as h:
        h.begin_run(True, "t")
        assert h.read_bytes(str(f)) == b"old"
        seen = []

        def apply():
            h.begin_run(False, "t")
            h.write_atomic(str(f), b"new")
            seen.append(h.read_bytes(str(f)))
            h.end_run()
        t = threading.Thread(target=apply)
        t.start()
        t.join(30)
        assert seen == [b"new"] and h.read_bytes(str(f)) == b"old"  # the plan keeps what it read at its start
        h.end_run()


def test_the_batch_without_python3_asks_again_for_a_folder_it_cannot_list():
    import shutil
    import tempfile
    from xenbook.connectors import shellbatch
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to list as another user")
    top = Path(tempfile.mkdtemp(prefix="xenbook-batch-", dir="/tmp"))  # searchable by nobody, unlike pytest's
    try:
        top.chmod(0o755)
        (top / "closed").mkdir(mode=0o311)
        ops = [{"op": "list", "path": str(top / "closed")}, {"op": "stat", "path": str(top / "closed")}]
        raw = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c",
                              shellbatch.SCRIPT, "sh", *shellbatch.arguments(ops)], capture_output=True)
        answers = shellbatch.answers(ops, (raw.returncode, raw.stdout, ""))
        assert answers[0] is None and answers[1][0]["stat"][0] == "dir"  # the listing is asked again, alone
    finally:
        shutil.rmtree(top)


def test_a_request_interrupted_mid_reply_ends_the_session_rather_than_answer_the_next_one(server):
    def stop(line):
        raise KeyboardInterrupt  # Ctrl-C while a command's lines stream in

    with _open(server) as h:
        with pytest.raises(KeyboardInterrupt):
            h.run(Command.of("sh", "-c", "echo first; sleep 0.2; echo rest; exit 7"), on_line=stop)
        with pytest.raises(TargetError, match="ended"):  # never the interrupted command's "rest" and exit 7
            h.run(Command.of("echo", "second"))
