"""The module xenbook.xen.runbook run directly, as ansible-core runs it on a node (its arguments in a file, no
playbook, a fraction of a second each): its own checks of its parameters, each message naming the parameter, the
value and the rule, and what no_log hides in its result and its invocation (what -vvv prints). The playbook runs are
tests/test_ansible_module.py and tests/test_ansible_fleet.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ansible.module_utils.basic", reason="needs ansible-core in the project's venv")

ROOT = Path(__file__).parent.parent
MODULE = ROOT / "ansible_collections" / "xenbook" / "xen" / "plugins" / "modules" / "runbook.py"
REMEDY = "install xenbook with the role xenbook.xen.install, or name its command"


def run_module(args: dict, tmp_path: Path) -> dict:
    """The module's JSON result for args."""
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTHON"))}
    env["PYTHONPATH"] = str(ROOT)  # where ansible-core finds the collection's module_utils
    done = subprocess.run([sys.executable, MODULE, args_file], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip(), done.stderr[-2000:]
    return json.loads(done.stdout)


def _files(tmp_path: Path) -> dict[str, str]:
    """Paths the cases name: a folder, a missing file, files that are not programs, and a stand-in xenbook."""
    made = {"{tmp}": str(tmp_path), "{missing}": str(tmp_path / "missing" / "xenbook")}
    for name, text, mode in [("plain", "#!/bin/sh\nexit 0\n", 0o644), ("noexec", "not a program\n", 0o755),
                             ("no_interpreter", "#!/nonexistent/bin/python3\n", 0o755),
                             ("echo", '#!/bin/sh\necho "xenbook: was given $(cat "$3")" >&2\nexit 2\n', 0o755)]:
        path = tmp_path / name
        path.write_text(text)
        path.chmod(mode)
        made["{" + name + "}"] = str(path)
    return made


PARAMETER_CASES = [
    ("a folder", {"xenbook": "{tmp}"}, "parameter xenbook = '{tmp}': is a folder, and must be the xenbook command, "
                                       f"an executable file on this node: {REMEDY}"),
    ("a missing file", {"xenbook": "{missing}"}, "parameter xenbook = '{missing}': does not exist, and must be"),
    ("a device", {"xenbook": "/dev/null"}, "parameter xenbook = '/dev/null': is not a regular file, and must be"),
    ("a file without x", {"xenbook": "{plain}"}, "parameter xenbook = '{plain}': is not executable, and must be"),
    ("no program", {"xenbook": "{noexec}"},
     "parameter xenbook = '{noexec}': could not be run (Exec format error), and must be the xenbook command, an "
     f"executable file on this node: {REMEDY}"),
    ("its interpreter missing", {"xenbook": "{no_interpreter}"},
     "parameter xenbook = '{no_interpreter}': could not be run (No such file or directory), and must be"),
    ("a negative wait", {"wait": -1}, "parameter wait = -1.0: must be a finite number of seconds, 0 or more"),
    ("wait nan", {"wait": "nan"}, "parameter wait = nan: must be a finite number of seconds, 0 or more"),
    ("wait inf", {"wait": "inf"}, "parameter wait = inf: must be a finite number of seconds, 0 or more"),
    ("wait -inf", {"wait": "-inf"}, "parameter wait = -inf: must be a finite number"),
    ("wait too large for a float", {"wait": 1e400}, "parameter wait = inf: must be a finite number"),
]


@pytest.mark.parametrize("args, message", [c[1:] for c in PARAMETER_CASES], ids=[c[0] for c in PARAMETER_CASES])
def test_a_bad_parameter_fails_naming_it(args, message, tmp_path):
    files = _files(tmp_path)
    args = {"xenbook": "{echo}", **args}
    for key, path in files.items():
        message = message.replace(key, path)
        args = {k: v.replace(key, path) if isinstance(v, str) else v for k, v in args.items()}
    out = run_module(args, tmp_path)
    assert out["failed"] and out["msg"].startswith(message), out["msg"]
    assert out["steps"] == [] and out["reboot_required"] is False


SECRETS = {"root_password": 98765432, "api_key": 3.25, "tokens": {"github": "ghp_NOTSHOWN", "more": [{"n": 4242}]}}


@pytest.mark.parametrize("xenbook", ["{missing}", "{echo}"], ids=["refused before the run", "xenbook's message"])
def test_no_secret_in_the_result_nor_the_invocation(xenbook, tmp_path):
    files = _files(tmp_path)
    out = run_module({"xenbook": files[xenbook], "params": {"sections": ["preflight"], **SECRETS},
                      "_ansible_check_mode": True}, tmp_path)
    text = json.dumps(out)
    assert out["failed"] and "invocation" in out  # what -vvv prints
    for secret in ("98765432", "3.25", "ghp_NOTSHOWN", "4242"):
        assert secret not in text, secret
    args = out["invocation"]["module_args"]["params"]
    assert args["root_password"] == args["tokens"]["github"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert args["sections"] == ["preflight"]  # what is no secret stays
    if xenbook == "{echo}":
        assert out["msg"].startswith("xenbook: was given {") and '"sections": ["preflight"]' in out["msg"]
