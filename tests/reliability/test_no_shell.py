"""No argument ever reaches a shell as a string.

Statically, no module calls a shell (shell=True, os.system, os.popen, ...), no program is started with text that
shlex quoted or joined (such text is for people to read), and the only `sh -c` is in xenbook/connectors/remote.py, with
scripts that are module constants (paths arrive as positional parameters). At run
time, every command of a whole runbook run (with shell metacharacters in the parameters where a value may hold
them) is an argv tuple, and every process started is an argv list without a shell. The SSH host quotes in exactly
one place, remote_command, which round-trips any argv through the remote shell's word splitting."""

from __future__ import annotations

import ast
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xenbook
from xenbook.connectors import remote
from xenbook.core.commands import Command
from xenbook_sample.host import SampleHost

from . import samples

PACKAGE = Path(list(xenbook.__path__)[0])
SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "/bin/sh", "/bin/bash", "/usr/bin/sh", "/usr/bin/bash"}
# what starts a program; none of them may be handed text joined or quoted for a shell (shown text is for people)
RUNNERS = {"Command", "of", "run_local", "run", "Popen", "check_output", "call", "check_call", "spawn", "execv",
           "_run_bytes"}
EVIL = "$(touch /pwned); `touch /pwned` | rm -rf / && reboot"


def sources() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(PACKAGE)), ast.parse(p.read_text(), str(p))) for p in sorted(PACKAGE.rglob("*.py"))]


def _constant_text(node: ast.AST, constants: dict[str, ast.AST]) -> bool:
    """True when node is text fixed at import time: literals, f-strings and + of other module constants."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Name):
        return node.id in constants and _constant_text(constants[node.id], constants)
    if isinstance(node, ast.JoinedStr):
        return all(_constant_text(v.value if isinstance(v, ast.FormattedValue) else v, constants) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _constant_text(node.left, constants) and _constant_text(node.right, constants)
    return False


def test_no_module_calls_a_shell(tally):
    problems = []
    for name, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                        problems.append(f"{name}:{node.lineno}: shell= in a call")
                f = node.func
                dotted = f"{getattr(f.value, 'id', '?')}.{f.attr}" if isinstance(f, ast.Attribute) else ""
                if dotted in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput") \
                        or dotted.startswith("os.spawn") or dotted.startswith("os.exec") and dotted != "os.execv":
                    problems.append(f"{name}:{node.lineno}: {dotted}")
                callee = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if callee in RUNNERS and name != "connectors/remote.py":
                    for inner in ast.walk(node):
                        g = getattr(inner, "func", None)
                        if isinstance(g, ast.Attribute) and (getattr(g.value, "id", "") == "shlex" or
                                                             g.attr in ("display", "join") and callee != "of"):
                            problems.append(f"{name}:{node.lineno}: {callee}() gets text built by {g.attr}()")
            if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) >= 2:
                first, second = node.elts[:2]
                if isinstance(first, ast.Constant) and first.value in SHELLS and \
                        isinstance(second, ast.Constant) and second.value == "-c" and name != "connectors/remote.py":
                    problems.append(f"{name}:{node.lineno}: a shell -c command outside connectors/remote.py")
        tally["argv checks"] += 1
    assert not problems, "\n".join(problems)


def test_the_remote_shell_runs_only_constant_scripts(tally):
    tree = ast.parse((PACKAGE / "connectors" / "remote.py").read_text())
    constants = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                 if isinstance(t, ast.Name)}
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr == "_sh"]
    assert len(calls) >= 8, "the file operations of CommandFilesHost go through _sh"
    for call in calls:
        assert call.args and _constant_text(call.args[0], constants), \
            f"remote.py:{call.lineno}: _sh gets a script that is not a module constant"
        tally["argv checks"] += 1


class Recorder(remote.CommandFilesHost):
    """A CommandFilesHost that records the argv of every command instead of running it."""

    target = "recorder"

    def __init__(self):
        self.argvs: list[tuple[str, ...]] = []

    def _run_bytes(self, argv, stdin=None, *, timeout=None, on_line=None):
        self.argvs.append(tuple(argv))
        script = argv[2] if argv[:2] == ("sh", "-c") else ""
        if script.startswith("p=$(readlink"):  # _PREPARE prints the temporary file and the real path
            return 0, f"{argv[4]}.tmp\0{argv[4]}".encode(), ""
        return 0, b"0 0 0 0" if "stat -L" in script else b"", ""

    def exec_validator(self, argv, path, data=None):
        return None


def test_hostile_paths_reach_the_remote_shell_only_as_whole_arguments(tally):
    host = Recorder()
    scripts = {v for k, v in vars(remote).items() if k.startswith("_") and k.isupper() and isinstance(v, str)}
    path = f"/srv/{EVIL} \n'\"x"
    host.read_bytes(path), host.stat(path), host.listdir(path), host.makedirs(path), host.remove(path)
    host.write_atomic(path, b"data", mode=0o600), host.copy_file(path, path + "2")
    host.append(path, b"x"), host.create_exclusive(path, b"x"), host.run(Command.of("ls", "--", path))
    for argv in host.argvs:
        assert all(isinstance(a, str) for a in argv)
        if argv[:2] == ("sh", "-c"):
            assert argv[2] in scripts and argv[3] == "sh", argv
            assert EVIL not in argv[2]
        assert any(a in (path, path + "2", path + ".tmp") for a in argv), argv
        assert not any(EVIL in a and a not in (path, path + "2", path + ".tmp") for a in argv), argv
        tally["argv checks"] += 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")), min_size=1,
                max_size=6))
def test_remote_command_round_trips_any_argv(argv):
    assert shlex.split(remote.remote_command(argv)) == argv
    assert shlex.split(remote.remote_command(argv, sudo=True)) == ["sudo", "-n", "--", *argv]


def test_a_whole_run_starts_only_argv_commands(template, scratch, monkeypatch, tally):
    """install, boot, dom0, the reboot, then a guest whose SSH key comment is full of shell syntax."""
    seen: list[tuple[str, ...]] = []
    real_run, real_popen_init = SampleHost.run, subprocess.Popen.__init__

    def run(self, command, **kw):
        assert isinstance(command, Command) and isinstance(command.argv, tuple), command
        assert all(isinstance(a, str) for a in command.argv), command.argv
        assert not (command.argv[0] in SHELLS and "-c" in command.argv[1:2]), command.argv
        assert not any(EVIL in a for a in command.argv), f"parameter text reached a command: {command.argv}"
        seen.append(command.argv)
        return real_run(self, command, **kw)

    def popen_init(self, args, *a, **kw):
        assert isinstance(args, (list, tuple)) and not kw.get("shell"), (args, kw.get("shell"))
        assert not (os.path.basename(str(args[0])) in SHELLS and "-c" in args[1:2]), args
        seen.append(tuple(map(str, args)))
        return real_popen_init(self, args, *a, **kw)

    monkeypatch.setattr(SampleHost, "run", run)
    monkeypatch.setattr(subprocess.Popen, "__init__", popen_init)
    root = samples.copy_host(template("bios-grub2", "fresh"), os.path.join(scratch, "argv", "host"))
    data = {"guests": [{"name": "dom01", "ssh_key": f"{samples.KEY} {EVIL}", "hostname": "web-1",
                        "root_password_hash_env": samples.HASH_ENV}]}
    first = samples.apply(root, data, ["install", "boot", "dom0"])
    assert not first.failed, first.summary()
    samples.reboot_host(root)
    report = samples.apply(root, data, ["dom0", "domu"])
    assert not report.failed, report.summary()
    assert any(a[0] == "pacstrap" for a in seen) and any(a[0] in ("grub-script-check", "bash") for a in seen)
    keys = [p for p in Path(root).rglob("authorized_keys")]
    assert keys and all(EVIL in p.read_text() for p in keys), "the key line is file content, kept whole"
    assert not Path(root, "pwned").exists() and not Path("/pwned").exists()
    tally["argv checks"] += len(seen)


def test_command_refuses_a_string_as_argv():
    """Command takes nothing but a tuple of str: a string cannot be smuggled in as argv (it would be split into
    one-letter arguments, or worse, someday be handed to a shell)."""
    for bad in ("ls -l", ["ls", "-l"], ("ls", 1), ("ls", b"-l"), ()):
        with pytest.raises(TypeError):
            Command(bad)  # type: ignore[arg-type]
