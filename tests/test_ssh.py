"""SshHost against a real OpenSSH server on 127.0.0.1, plus the quoting rule it relies on."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xenbook.core.commands import Command  # noqa: E402
from xenbook.core.errors import HostError, TargetError  # noqa: E402
from xenbook.connectors.remote import SudoLocalHost, remote_command  # noqa: E402
from xenbook.connectors.ssh import SshHost  # noqa: E402
from xenbook.connectors.targets import open_host  # noqa: E402
from xenbook.core.errors import ValidationFailed  # noqa: E402
from xenbook.safety.validators import VALIDATORS, Check, validate_candidate  # noqa: E402
from tests.sshd import _client_config, _keygen, server  # noqa: E402,F401  (server: the test sshd, a fixture)

HOSTILE = ["two words", "it's", 'say "hi"', "a;b", "; touch {m}", "$(touch {m})", "`touch {m}`",
           "x && touch {m}", "| touch {m}", "line1\ntouch {m}\n", "*", "/*", "-rf", "--", "-",
           "", " ", "\\", "${HOME}", "~", "#comment", "über ☃ 日本", "\t", "!$", "a'b\"c"]


@pytest.fixture(scope="session", params=["agent", "commands"])
def host(server, request):
    """The same host both ways: through the agent shipped over one session, and one command per operation."""
    port, config, _ = server
    h = SshHost("127.0.0.1", user="root", port=port, config=config, agent=request.param == "agent")
    yield h
    assert h.transport == request.param
    h.close()


# quoting (no server)

@pytest.mark.parametrize("arg", HOSTILE)
def test_remote_command_round_trips_through_a_posix_shell_parser(arg):
    argv = ("printf", "%s\\0", arg, "-x")
    assert shlex.split(remote_command(argv)) == list(argv)


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_remote_command_survives_a_real_shell(shell, tmp_path):
    marker = tmp_path / "pwned"
    args = [a.replace("{m}", str(marker)) for a in HOSTILE]
    out = subprocess.run([shell, "-c", remote_command(["printf", "%s\\0"] + args)], capture_output=True).stdout
    assert out.decode().split("\0")[:-1] == args and not marker.exists()


def test_remote_command_prefixes_sudo_only_when_asked():
    assert remote_command(("id", "-u")) == "id -u"
    assert remote_command(("id", "-u"), sudo=True) == "sudo -n -- id -u"
    assert remote_command(("rm", "-f", "--", "/a b")) == "rm -f -- '/a b'"


def test_target_string_and_sudo_rule():
    with SshHost("example.org") as a, SshHost("::1", user="root", port=2222, sudo=True) as b, \
            SshHost("h", user="admin", sudo=True) as c:
        assert (a.target, b.target, c.target) == ("ssh:example.org", "ssh:root@[::1]:2222", "ssh:admin@h")
        assert (b.sudo, c.sudo) == (False, True)
    with pytest.raises(TargetError):
        SshHost("-oProxyCommand=touch x")


def test_sudo_local_host_runs_through_sudo():
    h = SudoLocalHost()
    assert h.target == "local"
    if shutil.which("sudo") is None:
        with pytest.raises(TargetError, match="sudo"):
            h.run(Command.of("true"))
    else:
        assert h.run(Command.of("printf", "%s", "a b")).stdout == "a b"


# commands over a real connection

def test_run_returns_stdout_and_exit_codes(host):
    r = host.run(Command.of("sh", "-c", "echo out; echo err >&2; exit 3"))
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    assert host.run(Command.of("id", "-u")).stdout.strip() == "0"
    assert host.run(Command.of("cat", stdin=b"fed through stdin")).stdout == "fed through stdin"
    assert host.run(Command.of("sh", "-c", "exit 255")).returncode == 255  # the command's, not ssh's


def test_hostile_arguments_arrive_as_the_same_argv(host, tmp_path):
    marker = tmp_path / "pwned"
    args = [a.replace("{m}", str(marker)) for a in HOSTILE]
    r = host.run(Command(("printf", "%s\\0") + tuple(args)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\0")[:-1] == args
    assert not marker.exists()


def test_hostile_path_names_are_plain_paths(host, tmp_path):
    marker = f"xenbook-pwned-{os.getpid()}"  # a file name has no '/', so the remote home is the target
    name = tmp_path / f"$(touch {marker}) ;`touch {marker}` 'q\" \n*\n"
    host.write_atomic(str(name), b"ok")
    assert name.read_bytes() == b"ok" and host.read_bytes(str(name)) == b"ok"
    assert host.listdir(str(tmp_path)) == [name.name]
    assert not (Path.home() / marker).exists() and not (Path("/") / marker).exists()


def test_streaming_hands_over_each_line(host):
    lines: list[str] = []
    r = host.run(Command.of("sh", "-c", "echo one; echo two; echo oops >&2; echo three"), on_line=lines.append)
    assert lines == ["one", "two", "three"]
    assert (r.returncode, r.stdout, r.stderr) == (0, "one\ntwo\nthree\n", "oops\n")


def test_timeout_stops_waiting(host):
    start = time.monotonic()
    assert host.run(Command.of("sleep", "6"), timeout=1).returncode == 124
    assert host.run(Command.of("sleep", "6"), timeout=1, on_line=print).returncode == 124
    assert time.monotonic() - start < 10


# file operations

def test_read_bytes_round_trips_binary_data(host, tmp_path):
    data = bytes(range(256)) * 64 + b"\r\n\x00\n\xff"
    (tmp_path / "blob").write_bytes(data)
    assert host.read_bytes(str(tmp_path / "blob")) == data
    assert host.read_bytes(str(tmp_path / "missing")) is None
    assert host.read_bytes(str(tmp_path / "no" / "such" / "file")) is None
    assert host.read_bytes(str(tmp_path / "blob" / "below-a-file")) is None
    with pytest.raises(HostError, match="is a directory"):
        host.read_bytes(str(tmp_path))
    with pytest.raises(HostError):
        host.read_bytes("relative/path")


def test_stat_reports_kind_mode_owner_and_size(host, tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"12345")
    os.chmod(f, 0o640)
    os.chown(f, 1234, 2345)
    (tmp_path / "link").symlink_to(f)
    info = host.stat(str(f))
    assert (info.kind, info.mode, info.uid, info.gid, info.size) == ("file", 0o640, 1234, 2345, 5)
    assert host.stat(str(tmp_path / "link")) == info
    assert host.stat(str(tmp_path)).kind == "dir"
    assert host.stat(str(tmp_path / "missing")) is None
    assert host.exists(str(f)) and not host.exists(str(tmp_path / "missing"))


def test_listdir(host, tmp_path):
    for name in ["b", ".hidden", "-dash", "with space", "new\nline"]:
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    assert host.listdir(str(tmp_path)) == sorted(["b", ".hidden", "-dash", "with space", "new\nline", "sub"])
    assert host.listdir(str(tmp_path / "sub")) == []
    assert host.listdir(str(tmp_path / "b")) is None
    assert host.listdir(str(tmp_path / "missing")) is None


def test_write_atomic_creates_new_files(host, tmp_path):
    host.write_atomic(str(tmp_path / "new"), b"\x00data\n")
    assert (tmp_path / "new").read_bytes() == b"\x00data\n"
    assert os.stat(tmp_path / "new").st_mode & 0o7777 == 0o644
    host.write_atomic(str(tmp_path / "secret"), b"s", mode=0o600)
    assert os.stat(tmp_path / "secret").st_mode & 0o7777 == 0o600
    with pytest.raises(HostError, match="does not exist"):
        host.write_atomic(str(tmp_path / "nodir" / "f"), b"x")
    assert sorted(os.listdir(tmp_path)) == ["new", "secret"]


def test_write_atomic_replaces_keeping_mode_and_owner(host, tmp_path):
    f = tmp_path / "conf"
    f.write_bytes(b"old")
    os.chmod(f, 0o640)
    os.chown(f, 1234, 2345)
    seen = []
    host.write_atomic(str(f), b"new contents", validate=lambda p: seen.append((p, host.read_bytes(p))))
    st = os.stat(f)
    assert f.read_bytes() == b"new contents"
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 1234, 2345)
    (tmp_path_seen, data), = seen
    assert os.path.dirname(tmp_path_seen) == str(tmp_path) and data == b"new contents"
    assert os.listdir(tmp_path) == ["conf"]
    (tmp_path / "link").symlink_to(f)
    host.write_atomic(str(tmp_path / "link"), b"through the link")
    assert (tmp_path / "link").is_symlink() and f.read_bytes() == b"through the link"
    assert os.stat(f).st_mode & 0o7777 == 0o640
    with pytest.raises(HostError, match="is a directory"):
        host.write_atomic(str(tmp_path), b"x")


def test_failed_validation_leaves_the_original_untouched(host, tmp_path):
    f = tmp_path / "conf"
    original = bytes(range(256))
    f.write_bytes(original)
    os.chmod(f, 0o640)
    before = os.stat(f)

    def reject(path: str) -> None:
        raise ValueError(f"bad candidate {path}")

    with pytest.raises(ValueError, match="bad candidate"):
        host.write_atomic(str(f), b"broken", validate=reject)
    after = os.stat(f)
    assert f.read_bytes() == original
    assert (after.st_ino, after.st_mode, after.st_mtime_ns) == (before.st_ino, before.st_mode, before.st_mtime_ns)
    assert os.listdir(tmp_path) == ["conf"]


def test_makedirs_remove_and_copy_file(host, tmp_path):
    host.makedirs(str(tmp_path / "a" / "b"), mode=0o700)
    assert os.stat(tmp_path / "a" / "b").st_mode & 0o7777 == 0o700
    src = tmp_path / "src"
    src.write_bytes(b"keep me")
    os.chmod(src, 0o640)
    os.chown(src, 1234, 2345)
    os.utime(src, (1_000_000_000, 1_000_000_000))
    dst = tmp_path / "backup" / "src.orig"
    host.copy_file(str(src), str(dst))
    st = os.stat(dst)
    assert dst.read_bytes() == b"keep me"
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid, st.st_mtime) == (0o640, 1234, 2345, 1_000_000_000)
    host.remove(str(dst))
    host.remove(str(dst))
    assert not dst.exists()
    with pytest.raises(HostError, match="copying"):
        host.copy_file(str(tmp_path / "missing"), str(dst))


def test_exec_validator(host, tmp_path):
    good, bad = tmp_path / "good.sh", tmp_path / "bad.sh"
    good.write_text("echo fine\n")
    bad.write_text("if then fi (\n")
    assert host.exec_validator(("no-such-validator-xyz", "{path}"), str(good)) is None
    assert host.exec_validator(("sh", "-n", "{path}"), str(good)).ok
    r = host.exec_validator(("sh", "-n", "{path}"), str(bad))
    assert r is not None and not r.ok


PACMAN_CONF = b"[options]\nArchitecture = auto\n[core]\nInclude = /etc/pacman.d/no-such-mirrorlist\n"


def test_validators_run_on_the_target_not_here(host, tmp_path, monkeypatch):
    """pacman-conf checks a transformed copy of the candidate: on the target, even when this machine lacks it."""
    if shutil.which("pacman-conf") is None:
        pytest.skip("pacman-conf is not installed")
    monkeypatch.setattr(shutil, "which", lambda *a, **kw: None)  # this machine has no tools; the target has them
    path = str(tmp_path / "pacman.conf")
    notes = []
    host.write_atomic(path, PACMAN_CONF, validate=lambda c: notes.extend(
        validate_candidate(host, "pacman-conf", PACMAN_CONF, c, path)))
    assert notes == ["pacman-conf --config"]
    bad = PACMAN_CONF.replace(b"[core]", b"ParallelDownloads = many\n[core]")
    with pytest.raises(ValidationFailed, match="(?s)pacman-conf --config rejected the new .*'ParallelDownloads' : 'many'"):
        host.write_atomic(path, bad, validate=lambda c: validate_candidate(host, "pacman-conf", bad, c, path))
    assert (tmp_path / "pacman.conf").read_bytes() == PACMAN_CONF
    assert sorted(os.listdir(tmp_path)) == ["pacman.conf"]  # no candidate, no checked copy left beside it


def test_a_validator_missing_on_the_target_fails_unless_allowed(host, tmp_path, monkeypatch):
    monkeypatch.setitem(VALIDATORS, "pacman-conf", (Check(("no-such-validator-xyz", "--config", "{path}"),
                                                          lambda data: data),))
    path = str(tmp_path / "pacman.conf")
    with pytest.raises(ValidationFailed, match=r"no-such-validator-xyz \(the pacman-conf check\) is not installed "
                                               r"on ssh:root@127\.0\.0\.1"):
        host.write_atomic(path, PACMAN_CONF, validate=lambda c: validate_candidate(host, "pacman-conf", PACMAN_CONF,
                                                                                   c, path))
    assert not os.path.exists(path)
    notes = validate_candidate(host, "pacman-conf", PACMAN_CONF, path, path, ["pacman-conf"])
    assert notes == ["not validated: no-such-validator-xyz is not installed on ssh:root@127.0.0.1:%d (the "
                     "pacman-conf check; allow_unvalidated lists it)" % host.port]


# host keys and authentication

def _refused(port: int, config: str, marker: Path) -> TargetError:
    with SshHost("127.0.0.1", user="root", port=port, config=config) as h:
        with pytest.raises(TargetError) as caught:
            h.run(Command.of("touch", str(marker)))
    assert not marker.exists()
    return caught.value


def test_changed_host_key_is_refused_and_nothing_runs(server, tmp_path):
    port, _, d = server
    other = _keygen(tmp_path / "impostor")
    config = _client_config(tmp_path, "changed", f"[127.0.0.1]:{port} {other}\n", d / "client_key")
    err = _refused(port, config, tmp_path / "ran")
    assert "host key" in str(err).lower() and "known_hosts" in str(err)


def test_unknown_host_key_is_refused_without_prompting(server, tmp_path):
    port, _, d = server
    config = _client_config(tmp_path, "unknown", "", d / "client_key", strict=False)
    err = _refused(port, config, tmp_path / "ran")
    assert "host key" in str(err).lower()


def test_unknown_client_key_is_refused(server, tmp_path):
    port, _, d = server
    _keygen(tmp_path / "stranger")
    config = _client_config(tmp_path, "stranger", (d / "good.known_hosts").read_text(), tmp_path / "stranger")
    assert "ssh-copy-id" in str(_refused(port, config, tmp_path / "ran"))


def test_open_host_gives_a_working_ssh_host_and_close_ends_the_master(server):
    port, config, _ = server
    h = open_host(f"ssh:root@127.0.0.1:{port}", ssh_config=config)
    assert isinstance(h, SshHost) and h.target == f"ssh:root@127.0.0.1:{port}"
    assert h.run(Command.of("echo", "hello")).stdout == "hello\n"
    control = h._control
    assert os.listdir(control)
    h.close()
    assert not os.path.exists(control)


def test_special_files_are_refused_not_read(host, tmp_path):
    """A FIFO where a file should be is refused, not read forever (cat would wait for a writer); so is a device."""
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(HostError, match=f"{tmp_path}/fifo is a FIFO"):
        host.read_bytes(str(tmp_path / "fifo"))
    with pytest.raises(HostError, match="/dev/null is a character device"):
        host.read_bytes("/dev/null")
    with pytest.raises(HostError, match=f"{tmp_path}/fifo is a FIFO"):
        host.write_atomic(str(tmp_path / "fifo"), b"x")
    assert (tmp_path / "fifo").is_fifo() and os.listdir(tmp_path) == ["fifo"]
