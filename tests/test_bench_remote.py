"""The benchmark's remote part, without a server: sshd's log counted into connections and sessions, SshHost's
stats lines summed, and the prefixed host mapping every path onto the fixture root (bench/remote*.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import remote  # noqa: E402
import remote_fleet  # noqa: E402
from remote_edits import PrefixedHost  # noqa: E402
from remote_sshd import count  # noqa: E402

from xenbook.core.commands import Command  # noqa: E402
from xenbook.core.errors import HostError  # noqa: E402

# OpenSSH 9.2's sshd -D -e at LogLevel VERBOSE, as the bench's server wrote it: two connections, four sessions
LOG = """\
Server listening on 127.0.0.1 port 59645.
Connection from 127.0.0.1 port 58264 on 127.0.0.1 port 59645 rdomain ""
kex_exchange_identification: Connection closed by remote host
Connection closed by 127.0.0.1 port 58264
Connection from 127.0.0.1 port 58278 on 127.0.0.1 port 59645 rdomain ""
Accepted key ED25519 SHA256:vM64WQrLSOS2+wzHjbr4biENTqVVNAeAzfeQnyUD03s found at /tmp/sshd/authorized_keys:1
Postponed publickey for root from 127.0.0.1 port 58278 ssh2 [preauth]
Accepted key ED25519 SHA256:vM64WQrLSOS2+wzHjbr4biENTqVVNAeAzfeQnyUD03s found at /tmp/sshd/authorized_keys:1
Accepted publickey for root from 127.0.0.1 port 58278 ssh2: ED25519 SHA256:vM64WQrLSOS2+wzHjbr4biENTqVVNAeAzfeQnyUD03s
Starting session: command for root from 127.0.0.1 port 58278 id 0
Starting session: command for root from 127.0.0.1 port 58278 id 1
Received disconnect from 127.0.0.1 port 58278:11: disconnected by user
Disconnected from user root 127.0.0.1 port 58278
Connection from 127.0.0.1 port 58284 on 127.0.0.1 port 59645 rdomain ""
Accepted publickey for root from 127.0.0.1 port 58284 ssh2: ED25519 SHA256:vM64WQrLSOS2+wzHjbr4biENTqVVNAeAzfeQnyUD03s
Starting session: subsystem 'sftp' for root from 127.0.0.1 port 58284 id 0
Close session: user root from 127.0.0.1 port 58284 id 0
Starting session: command for root from 127.0.0.1 port 58284 id 1
"""

COUNTS = [
    ("", {"connections": 0, "sessions": 0, "kinds": {}}),
    (LOG, {"connections": 2, "sessions": 4, "kinds": {"command": 3, "sftp": 1}}),
    # a session closing is no new one
    ("Starting session: command for root from 127.0.0.1 port 1 id 0\n"
     "Close session: user root from 127.0.0.1 port 1 id 0\n", {"connections": 0, "sessions": 1,
                                                                "kinds": {"command": 1}}),
    ("Starting session: forced-command (key-option) 'true' for root from 127.0.0.1 port 1 id 0\n",
     {"connections": 0, "sessions": 1, "kinds": {"forced-command": 1}}),
    ("Failed publickey for root from 127.0.0.1 port 1 ssh2\n", {"connections": 0, "sessions": 0, "kinds": {}}),
]


@pytest.mark.parametrize("log, expected", COUNTS)
def test_sshd_log_is_counted_into_connections_and_sessions(log, expected):
    assert count(log) == expected


STATS = [
    (None, None),
    ("", {"connections": 0, "sessions": 0, "exchanges": 0}),
    ('{"target": "ssh:root@127.0.0.1:2222", "sessions": 1, "exchanges": 40}\n'
     '{"target": "ssh:root@127.0.0.1:2222", "sessions": 2, "exchanges": 3}\n\n',
     {"connections": 2, "sessions": 3, "exchanges": 43}),
]


@pytest.mark.parametrize("text, expected", STATS)
def test_ssh_stats_file_is_summed_over_connections(tmp_path, text, expected):
    path = tmp_path / "stats.jsonl"
    if text is not None:
        path.write_text(text)
    assert remote.stats(path) == expected


@pytest.mark.parametrize("line", ['{"sessions": 1, "exchanges": 2', '[1, 2]', '{"sessions": "1"}', "null x"])
def test_a_malformed_stats_line_voids_the_figures_naming_it(tmp_path, line):
    path = tmp_path / "stats.jsonl"
    path.write_text('{"target": "t", "sessions": 1, "exchanges": 2}\n' + line + "\n")
    with pytest.raises(SystemExit, match="line 2"):
        remote.stats(path)


class Recorder:
    """An inner host that records each call; write_atomic calls its validate with the temporary file beside."""

    target = "ssh:root@127.0.0.1:2222"

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args))
            if name == "write_atomic" and kwargs.get("validate"):
                folder, base = args[0].rsplit("/", 1)
                kwargs["validate"](f"{folder}/.{base}.xenbook-abcdef")
        return call


MAPPED = [
    ("read_bytes", ("/etc/default/grub",), ("read_bytes", ("/srv/fx/etc/default/grub",))),
    ("stat", ("/boot//xen.gz",), ("stat", ("/srv/fx/boot/xen.gz",))),
    ("listdir", ("/",), ("listdir", ("/srv/fx/",))),
    ("makedirs", ("/var/lib/xenbook", 0o700), ("makedirs", ("/srv/fx/var/lib/xenbook", 0o700))),
    ("remove", ("/var/lib/xenbook/lock",), ("remove", ("/srv/fx/var/lib/xenbook/lock",))),
    ("copy_file", ("/etc/a", "/var/b"), ("copy_file", ("/srv/fx/etc/a", "/srv/fx/var/b"))),
    ("append", ("/var/lib/xenbook/ledger.jsonl", b"x"), ("append", ("/srv/fx/var/lib/xenbook/ledger.jsonl", b"x"))),
    ("create_exclusive", ("/var/lib/xenbook/lock", b"x"), ("create_exclusive", ("/srv/fx/var/lib/xenbook/lock",
                                                                                 b"x"))),
    ("exec_validator", (("bash", "-n", "{path}"), "/etc/default/grub", b"x"),
     ("exec_validator", (("bash", "-n", "{path}"), "/srv/fx/etc/default/grub", b"x"))),
]


@pytest.mark.parametrize("method, args, inner", MAPPED)
def test_prefixed_host_maps_every_path_under_the_root(method, args, inner):
    rec = Recorder()
    getattr(PrefixedHost(rec, "/srv/fx/"), method)(*args)
    assert rec.calls == [inner]


def test_prefixed_host_hands_validators_the_candidate_by_its_own_path():
    rec, seen = Recorder(), []
    PrefixedHost(rec, "/srv/fx").write_atomic("/etc/default/grub", b"x", validate=seen.append)
    assert rec.calls[0][1][0] == "/srv/fx/etc/default/grub"
    assert seen == ["/etc/default/.grub.xenbook-abcdef"]


@pytest.mark.parametrize("path", ["etc/hosts", "/etc/../root/.ssh/authorized_keys", "/etc/\0"])
def test_prefixed_host_refuses_paths_that_could_leave_the_root(path):
    rec = Recorder()
    with pytest.raises(HostError):
        PrefixedHost(rec, "/srv/fx").read_bytes(path)
    assert rec.calls == []


def test_prefixed_host_refuses_a_candidate_outside_the_root():
    host = PrefixedHost(Recorder(), "/srv/fx")
    with pytest.raises(HostError, match="not under the fixture root"):
        host.outer("/srv/fxother/etc/.grub.xenbook-abcdef")


def test_prefixed_host_answers_findmnt_and_runs_nothing_else():
    rec = Recorder()
    host = PrefixedHost(rec, "/srv/fx")
    assert host.run(Command.of("findmnt", "-J", "-o", "TARGET")).stdout.startswith('{"filesystems"')
    assert host.run(Command.of("rm", "-rf", "/")).returncode == 127
    assert rec.calls == [] and host.target == rec.target


def test_fleet_recap_needs_every_host_reached_and_none_failed():
    ok = "a : ok=1 changed=0 unreachable=0 failed=0 skipped=0\nb : ok=1 changed=1 unreachable=0 failed=0\n"
    assert remote_fleet.recap_ok(ok, 2)
    assert not remote_fleet.recap_ok(ok, 3)
    assert not remote_fleet.recap_ok(ok.replace("unreachable=0 failed=0\n", "unreachable=0 failed=1\n"), 2)


def test_merge_replaces_only_the_parts_measured_now():
    import main
    old = {"meta": {"date": "then", "runs": 5, "load_after": {"edits": 1.0, "remote": 9.0}}, "edits": {"files": 11},
           "remote": {"old": True}}
    new = {"meta": {"date": "now", "runs": 3, "minutes": 7.5, "load_after": {"remote": 2.0}},
           "remote": {"new": True}, "edits": {"files": 12}}
    out = main.merge(old, new, ["remote"])
    assert out["remote"] == {"new": True} and out["edits"] == {"files": 11}
    assert out["meta"]["date"] == "then" and out["meta"]["load_after"] == {"edits": 1.0, "remote": 2.0}
    assert out["meta"]["merged"] == [{"parts": ["remote"], "date": "now", "runs": 3, "minutes": 7.5}]
    assert old["meta"]["load_after"]["remote"] == 9.0  # the old data is not changed in place


def test_a_skipped_remote_part_is_said_in_the_results():
    import remote_report
    data = {"meta": {"date": "now", "runs": 5}, "remote": {"skipped": "not measured: the loopback sshd needs root"}}
    assert remote_report.figure_rows(data) == []
    assert remote_report.rows(data)[0][1] == "not measured: the loopback sshd needs root"
    assert "not measured" in "\n".join(remote_report.section(data, lambda header, body: ""))


def test_without_root_the_remote_part_is_skipped_and_says_why(monkeypatch, tmp_path):
    import remote_sshd
    monkeypatch.setattr(remote_sshd.os, "geteuid", lambda: 1000)
    said = []
    assert remote.part(tmp_path, 1, said.append) == {"skipped": remote_sshd.unavailable()}
    assert "needs root" in said[0] and not (tmp_path / "sshd").exists()
    with pytest.raises(SystemExit, match="needs root"):
        remote_sshd.start(tmp_path / "sshd")
