"""A host over SSH: the OpenSSH client, one shared connection, host keys checked as configured. Where the host has
python3, its reads and commands go to an agent shipped over one session (agent.py), and a plan reads ahead in one
batch what the last plan of the target read (readahead.py); elsewhere each operation is one command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import weakref

from xenbook.connectors import shellbatch
from xenbook.connectors.agent import BOOT, Agent, AgentUnavailable
from xenbook.connectors.process import Raw, spawn
from xenbook.connectors.readahead import ReadAhead
from xenbook.connectors.remote import CommandFilesHost, remote_command
from xenbook.core.commands import Command, Result, output_tail
from xenbook.core.errors import HostError, TargetError
from xenbook.core.host import FileInfo, check_path

STATS_ENV = "XENBOOK_SSH_STATS"  # a file: each connection appends {"target", "sessions", "exchanges", ...} at close


def _ssh_hint(stderr: str) -> str:
    """What to do about an ssh failure, judged from ssh's own words."""
    low = stderr.lower()
    if "identification has changed" in low or "host key" in low:
        return ("the host key is unknown or has changed; check it with the host's administrator, then fix "
                "~/.ssh/known_hosts (ssh-keygen -R HOST removes an old key; connect once with plain ssh "
                "to accept a new one)")
    if "permission denied" in low:
        return "key authentication failed; install your public key with ssh-copy-id, or load it into ssh-agent"
    return "check the host name, port and network, and that sshd runs there; try plain ssh to see more"


def _cleanup(control: str, stop: list[str], agent: list) -> None:
    """End the agent, stop the control master (if any) and remove its private directory."""
    if agent[0] is not None:
        agent[0].close()
    if os.path.isdir(control) and os.listdir(control):
        try:
            subprocess.run(stop, capture_output=True, stdin=subprocess.DEVNULL, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
    shutil.rmtree(control, ignore_errors=True)


class SshHost(CommandFilesHost):
    """A host reached with the OpenSSH client; agent=False keeps to one command per operation."""

    over_network = True
    python = "python3"  # the host's interpreter the agent runs on, found on the login shell's PATH

    def __init__(self, host: str, user: str | None = None, port: int = 22, sudo: bool = False,
                 config: str | None = None, *, agent: bool = True):
        if not host or host.startswith("-") or any(c.isspace() or c == "\0" for c in host):
            raise TargetError(f"ssh host {host!r} is not a valid host name or address")
        self.host, self.user, self.port, self.config = host, user, int(port), config
        self.sudo = sudo and user != "root"
        shown = f"[{host}]" if ":" in host else host
        self.target = f"ssh:{user + '@' if user else ''}{shown}{'' if self.port == 22 else f':{self.port}'}"
        self.sessions = 0  # SSH sessions opened: the agent's one, or one per command without it
        self.transport = "agent" if agent else "commands"
        self._agent_tried = not agent
        self._ahead = ReadAhead(self.target)
        self._control = tempfile.mkdtemp(prefix="xenbook-ssh-", dir="/tmp" if os.path.isdir("/tmp") else None)
        self._holder: list[Agent | None] = [None]  # the agent, once started (the finalizer ends it)
        self._finalizer = weakref.finalize(self, _cleanup, self._control, self._ssh_argv("-O", "exit"), self._holder)

    def _ssh_argv(self, *extra: str) -> list[str]:
        """The ssh client invocation, with extra options, up to the destination."""
        argv = ["ssh"] + (["-F", self.config] if self.config else []) + list(extra)
        argv += ["-p", str(self.port), "-o", "BatchMode=yes", "-o", "ControlMaster=auto",
                 "-o", f"ControlPath={self._control}/%C", "-o", "ControlPersist=60"]
        argv += (["-l", self.user] if self.user else []) + ["--", self.host]
        return argv

    # the agent

    def agent(self) -> Agent | None:
        """The running agent, started on first use; None when the host cannot run it (then commands it is)."""
        if not self._agent_tried:
            self._agent_tried = True
            self.sessions += 1
            try:
                # the agent's ssh is the shared connection's master for as long as the agent runs (no ControlPersist
                # fork holding its pipes): when it ends, the session ends, and a silent network ends it in a minute
                keep = ("-o", "ControlPersist=no", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4")
                boot = remote_command((self.python, "-I", "-S", "-c", BOOT), sudo=self.sudo)
                self._holder[0] = Agent(self._ssh_argv(*keep) + [boot], self.target)
            except AgentUnavailable as e:
                if e.returncode == 255 and not self._master_alive():
                    raise self._unreachable(e.stderr) from None
                self.transport = "commands"
                self.transport_note = f"no agent (exit {e.returncode}){output_tail(e.stderr, 2)}"
        return self._holder[0]

    def _file(self, op: str, path: str) -> tuple[dict, bytes] | None:
        """The agent's reply to a file request (read ahead when a plan asked for it already); None without agent."""
        agent = self.agent()
        if agent is None:
            return self._ask_script({"op": op, "path": path})
        return self._ask(agent, {"op": op, "path": path})

    def _ask_script(self, request: dict) -> tuple[dict, bytes] | None:
        """Without the agent: a plan's batch of file requests as one command (shellbatch.py); None: ask alone."""
        wanted = [op for op in self._ahead.wanted() if op["op"] != "run"][:shellbatch.LIMIT]
        if wanted:
            raw = self._sh(shellbatch.SCRIPT, *shellbatch.arguments(wanted))
            for op, answer in zip(wanted, shellbatch.answers(wanted, raw)):
                if answer is not None:
                    self._ahead.keep(op, answer)
        return self._ahead.take(request)

    def _ask(self, agent: Agent, request: dict) -> tuple[dict, bytes]:
        """One request: answered from the plan's batch, which the first request of a plan sends, or on its own."""
        wanted = self._ahead.wanted()
        if wanted:
            reply, blob = agent.exchange({"op": "batch", "ops": wanted})
            self._ahead.fill(wanted, reply.get("results", []), blob)
        found = self._ahead.take(request)
        if found is not None:
            return found
        answer = agent.exchange(request)
        self._ahead.keep(request, answer)
        return answer

    def run(self, command: Command, *, timeout: float | None = None, on_line=None) -> Result:
        """A command; in a plan, one without stdin or streamed output may come from the plan's batch."""
        agent = self.agent()
        if agent is None or on_line is not None or command.stdin is not None:
            return super().run(command, timeout=timeout, on_line=on_line)
        rc, out, err = self._ran(command.argv[0], *self._ask(agent, {"op": "run", "argv": list(command.argv),
                                                                        "timeout": timeout}))
        return Result(rc, out.decode(errors="replace"), err)

    def _ran(self, program: str, reply: dict, out: bytes) -> Raw:
        """A command's answer as (exit code, stdout, stderr); HostError when it is none."""
        if not isinstance(reply.get("rc"), int):
            raise self._odd("running", program, reply)
        return reply["rc"], out, str(reply.get("err", ""))

    def _odd(self, what: str, path: str, reply: dict) -> HostError:
        return HostError(f"{what} {path} on {self.target} failed: the agent answered {str(reply)[:200]}")

    def _reply(self, what: str, path: str, reply: dict) -> bool:
        """True when the reply says the path is missing; HostError for an error."""
        if "error" in reply:
            if reply.get("kind") == "not_regular":
                raise HostError(str(reply["error"]))
            raise HostError(f"{what} {path} on {self.target} failed: {reply['error']}")
        return bool(reply.get("missing"))

    def read_bytes(self, path: str) -> bytes | None:
        path = check_path(path)
        got = self._file("read", path)
        if got is None:
            return super().read_bytes(path)
        return None if self._reply("reading", path, got[0]) else got[1]

    def stat(self, path: str) -> FileInfo | None:
        path = check_path(path)
        got = self._file("stat", path)
        if got is None:
            return super().stat(path)
        if self._reply("stat of", path, got[0]):
            return None
        try:
            kind, mode, uid, gid, size = got[0]["stat"]
            return FileInfo(str(kind), int(mode), int(uid), int(gid), int(size))
        except (KeyError, TypeError, ValueError):
            raise self._odd("stat of", path, got[0]) from None

    def listdir(self, path: str) -> list[str] | None:
        path = check_path(path)
        got = self._file("list", path)
        if got is None:
            return super().listdir(path)
        if self._reply("listing", path, got[0]):
            return None
        names = got[0].get("names")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise self._odd("listing", path, got[0])
        return list(names)

    # writes: through the agent, the contract of remote.py's scripts without a program per step

    def _write_op(self, what: str, path: str, request: dict, data: bytes = b"") -> dict | None:
        """The agent's answer to a write request, HostError for its error; None without the agent."""
        agent = self.agent()
        if agent is None:
            return None
        reply, _ = agent.exchange(request, data)
        self._reply(what, path, reply)
        if "ok" not in reply:
            raise self._odd(what, path, reply)
        return reply

    def write_atomic(self, path: str, data: bytes, *, mode: int | None = None, validate=None) -> None:
        path = check_path(path)
        request = {"op": "prepare", "path": path, "mode": "" if mode is None else f"{mode:04o}"}
        reply = self._write_op("writing", path, request, data)
        if reply is None:
            return super().write_atomic(path, data, mode=mode, validate=validate)
        tmp, real = reply["ok"]
        try:
            if validate is not None:
                validate(tmp)
            self._write_op("replacing", path, {"op": "replace", "temp": tmp, "path": real})
        except BaseException:
            self._run_bytes(("rm", "-f", "--", tmp))
            raise

    def copy_file(self, src: str, dst: str) -> None:
        src, dst = check_path(src), check_path(dst)
        if self._write_op(f"copying {src} to", dst, {"op": "copy", "path": src, "to": dst}) is None:
            super().copy_file(src, dst)

    def append(self, path: str, data: bytes, *, mode: int = 0o600) -> None:
        path = check_path(path)
        if self._write_op("appending to", path, {"op": "append", "path": path, "mode": f"{mode:04o}"}, data) is None:
            super().append(path, data, mode=mode)

    def create_exclusive(self, path: str, data: bytes, *, mode: int = 0o644) -> bool:
        path = check_path(path)
        reply = self._write_op("creating", path, {"op": "create", "path": path, "mode": f"{mode:04o}"}, data)
        return super().create_exclusive(path, data, mode=mode) if reply is None else bool(reply["ok"])

    def _have(self, program: str) -> bool:
        reply = self._write_op("looking for", program, {"op": "have", "path": program})
        return super()._have(program) if reply is None else bool(reply["ok"])

    def _run_bytes(self, argv, stdin=None, *, timeout=None, on_line=None) -> Raw:
        agent = self.agent()
        if agent is not None:
            return self._ran(argv[0], *agent.exchange({"op": "run", "argv": list(argv), "timeout": timeout,
                                                       "stream": on_line is not None, "stdin": stdin is not None},
                                                      stdin or b"", on_line))
        self.sessions += 1
        local = self._ssh_argv() + [remote_command(argv, sudo=self.sudo)]
        try:
            raw = spawn(local, stdin, timeout=timeout, on_line=on_line)
        except FileNotFoundError:
            raise TargetError("the ssh client is not installed here; install openssh") from None
        if raw[0] == 255 and not self._master_alive():
            raise self._unreachable(raw[2])
        return raw

    def _unreachable(self, stderr: str) -> TargetError:
        return TargetError(f"cannot connect to {self.target} with ssh (exit 255){output_tail(stderr, 5)}\n"
                           f"  what to do: {_ssh_hint(stderr)}")

    # runs

    def begin_run(self, dry_run: bool, scope: str = "") -> None:
        super().begin_run(dry_run, scope)
        self._ahead.start(dry_run, scope)

    def end_run(self) -> None:
        self._ahead.end()

    def terminal(self, command: Command) -> list[str]:
        """ssh -t: the remote command gets a terminal (`xl console` needs one), through the shared connection."""
        self.sessions += 1
        return self._ssh_argv("-t") + [remote_command(command.argv, sudo=self.sudo)]

    def _master_alive(self) -> bool:
        """True when the shared connection is up, so an exit code 255 came from the remote command."""
        check = self._ssh_argv("-O", "check")
        return subprocess.run(check, capture_output=True, stdin=subprocess.DEVNULL, timeout=30).returncode == 0

    def close(self) -> None:
        stats = os.environ.get(STATS_ENV)
        if stats and self._finalizer.alive:
            line = {"target": self.target, "transport": self.transport, "sessions": self.sessions,
                    "exchanges": self._holder[0].exchanges if self._holder[0] else self.sessions,
                    "read_ahead_hits": self._ahead.hits}
            try:
                with open(stats, "a") as f:
                    f.write(json.dumps(line) + "\n")
            except OSError:
                pass
        self._finalizer()


