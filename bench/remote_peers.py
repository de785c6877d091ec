"""The same edits over SSH for pyinfra and Ansible, and for xenbook (bench/remote_edits.py): command lines and
environments for one cold run against the loopback sshd (remote_sshd.py).

pyinfra connects with paramiko (`pyinfra 127.0.0.1 deploy.py --ssh-port P --ssh-user root --ssh-key KEY`), its
known_hosts file the one that trusts exactly the server's key, strict host key checking on, and the client config
as its ssh config. Ansible uses its `ssh` connection (the OpenSSH client) with pipelining on, its default ssh_args
(`-C -o ControlMaster=auto -o ControlPersist=60s`), and the client config through `ansible_ssh_common_args`;
gather_facts off and the interpreter pinned, as in the local runs (peers.py). The playbook and the deploy are the
local part's (peers.playbook, pyinfra_deploy.py), on the fixture tree the server's machine holds at ROOT."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cases
import peers
from remote_sshd import Sshd

BENCH = Path(__file__).resolve().parent
HOST = "127.0.0.1"


def xenbook(sshd: Sshd, root: Path, check: bool) -> tuple[list[str], dict]:
    return ([cases.PY, str(BENCH / "remote_edits.py"), str(root), "check" if check else "apply", str(sshd.port),
             str(sshd.client_config)], {**os.environ, "XDG_CACHE_HOME": str(BENCH / "work" / "xdg-cache-edits")})


def pyinfra(sshd: Sshd, root: Path, spec_file: Path, check: bool) -> tuple[list[str], dict]:
    argv = [str(peers.VENV / "pyinfra"), HOST, str(peers.DEPLOY), "--ssh-port", str(sshd.port), "--ssh-user", "root",
            "--ssh-key", str(sshd.key), "--data", f"ssh_known_hosts_file={sshd.known_hosts}",
            "--data", "ssh_strict_host_key_checking=yes", "--data", f"ssh_config_file={sshd.client_config}"]
    return argv + (["--dry", "--diff"] if check else ["-y"]), peers.pyinfra_env(spec_file, root)


def inventory(sshd: Sshd, work: Path) -> Path:
    """One host, the loopback sshd, reached with the ssh connection and pipelining."""
    out = work / "inventory-ssh.json"
    out.write_text(json.dumps({"all": {"hosts": {HOST: {
        "ansible_connection": "ssh", "ansible_port": sshd.port, "ansible_user": "root",
        "ansible_ssh_pipelining": True, "ansible_ssh_common_args": f"-F {sshd.client_config}",
        "ansible_python_interpreter": str(peers.VENV / "python")}}}}))
    return out


def ansible(sshd: Sshd, root: Path, spec_file: Path, work: Path, check: bool) -> tuple[list[str], dict]:
    book = work / f"playbook-ssh-{root.name}.yml"
    if not book.exists():
        peers.playbook(json.loads(spec_file.read_text()), root, book)
    argv = [str(peers.VENV / "ansible-playbook"), "-i", str(inventory(sshd, work)), str(book)]
    return argv + (["--check", "--diff"] if check else []), peers.ansible_env(work)


def command(tool: str, sshd: Sshd, root: Path, spec_file: Path, work: Path, check: bool) -> tuple[list, dict]:
    """(argv, env) of one run of tool on the fixture tree at root, over SSH."""
    if tool == "xenbook":
        return xenbook(sshd, root, check)
    if tool == "pyinfra":
        return pyinfra(sshd, root, spec_file, check)
    return ansible(sshd, root, spec_file, work, check)


def changed(tool: str, out: str, err: str, check: bool) -> int | None:
    """The number of files the run changed or would change, as each tool reports it; None when it failed."""
    if tool == "xenbook":
        last = out.strip().splitlines()[-1:] or ["{}"]
        return json.loads(last[0]).get("files")
    if tool == "ansible":
        return peers.ansible_changed(out)
    return peers.pyinfra_dry_changed(out + err, HOST) if check else peers.pyinfra_changed(out + err)
