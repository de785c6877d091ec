"""The same edits for Ansible (ansible-core) and pyinfra: playbooks and deploys from a spec, their command lines,
and the changed count each one reports.

Ansible gets its best local settings: -c local, gather_facts off, the interpreter pinned (interpreter discovery can
pick a shim that does not exist), one task per edit. pyinfra runs on @local. Both get the spec's exact text:
blockinfile/files.block with xenbook's markers ('# BEGIN xenbook ID' / '# END xenbook ID') and copy/files.put for
whole files. files.block ends the block's text with a newline itself, so it gets the body without its last one."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venv" / "bin"
DEPLOY = BENCH / "pyinfra_deploy.py"


def playbook(spec: list[dict], root: Path, out: Path) -> Path:
    """An Ansible playbook (JSON, which is YAML) with one task per edit under root."""
    tasks = []
    for i, e in enumerate(spec):
        path = f"{root}{e['path']}"
        if "block" in e:
            tasks.append({"name": f"edit {i}", "ansible.builtin.blockinfile": {
                "path": path, "marker": "# {mark} xenbook " + e["block"], "marker_begin": "BEGIN",
                "marker_end": "END", "block": e["body"]}})
        else:
            tasks.append({"name": f"edit {i}", "ansible.builtin.copy": {
                "dest": path, "content": e["content"], "mode": e["mode"]}})
    out.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": tasks}], indent=1))
    return out


def ansible_env(work: Path) -> dict:
    """Ansible's settings for the benchmark: its own home and temp folders, no config file from elsewhere."""
    home = work / "ansible-home"
    cfg = work / "ansible.cfg"
    if not cfg.exists():
        home.mkdir(parents=True, exist_ok=True)
        cfg.write_text("[defaults]\nretry_files_enabled = False\nnocolor = True\n")
    return {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "ANSIBLE_CONFIG": str(cfg),
            "ANSIBLE_HOME": str(home), "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
            "ANSIBLE_REMOTE_TEMP": str(home / "remote-tmp"), "ANSIBLE_NOCOLOR": "1"}


def ansible_argv(book: Path, check: bool) -> list[str]:
    argv = [str(VENV / "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", f"ansible_python_interpreter={VENV / 'python'}", str(book)]
    return argv + (["--check", "--diff"] if check else [])


def ansible_changed(out: str) -> int | None:
    m = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", out)
    if m is None or int(m.group(3)):
        return None
    return int(m.group(2))


def pyinfra_env(spec_file: Path, root: Path) -> dict:
    return {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "XENBOOK_BENCH_SPEC": str(spec_file),
            "XENBOOK_BENCH_ROOT": str(root), "PYINFRA_PROGRESS": "off"}


def pyinfra_argv(check: bool) -> list[str]:
    argv = [str(VENV / "pyinfra"), "@local", str(DEPLOY)]
    return argv + (["--dry", "--diff"] if check else ["-y"])


def pyinfra_changed(out: str) -> int | None:
    """The changed count of an apply: the 'Grand total' row's Success column (hosts, success, error, no change)."""
    m = re.search(r"Grand total\s+\d+\s+(\d+|-)\s+(\d+|-)\s+(\d+|-)", out)
    if m is None or m.group(2) != "-":
        return None
    return int(m.group(1)) if m.group(1) != "-" else 0


def pyinfra_dry_changed(out: str, host: str = "@local") -> int | None:
    """The changed count of a --dry run: operations whose 'Change' column names the host."""
    if "Detected changes" not in out:
        return None
    return len(re.findall(rf"^\s*edit \d+\s+1 \({re.escape(host)}\)", out, re.M))
