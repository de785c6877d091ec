"""The module xenbook.xen.runbook through ansible-core against a stand-in xenbook that records what it was given:
the argv (a list, whatever the values), the parameters file (mode 0600, removed afterwards), the secrets (in its
environment only, never in the result nor in -vvv output), and what it prints becoming the result. One playbook run
holds every case; the real xenbook on many hosts is tests/test_ansible_fleet.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
SECRET = "$6$standin$QkB3ZbSecretHashForTheStandInOnlyAbCdEfGhIjKlMnOpQrStUvWxYz0123456789./"
TARGET = "sample:/srv/a b;$(touch /tmp/xenbook-pwned)"

# Records its argv, its parameters file's mode and content, the secret's variable, then answers as its argv says.
STAND_IN = """#!{python}
import json, os, stat, sys
argv = sys.argv[1:]
params = argv[argv.index("--params") + 1]
record = {{"argv": argv, "mode": stat.S_IMODE(os.stat(params).st_mode), "params": json.load(open(params)),
          "secret": os.environ.get("DOM01_ROOT_HASH"), "params_path": params}}
with open({log!r}, "a") as f:
    f.write(json.dumps(record) + "\\n")
if record["params"].get("boot", {{}}).get("dom0_mem") == "lots":
    sys.stderr.write("     running preflight/Cpu\\nxenbook: bad input, nothing was changed:\\n  parameter "
                     "boot.dom0_mem = 'lots': must be a whole number with a unit K, M, G or T, e.g. 2048M or 4G\\n")
    sys.exit(2)
status = "would-change" if argv[0] == "plan" else "changed"
diff = "--- a/etc/pacman.conf\\n+++ b/etc/pacman.conf\\n@@ -1 +1,2 @@\\n x\\n+[multilib]\\n"
print(json.dumps({{"target": "sample:/x", "simulated": True, "dry_run": argv[0] == "plan", "interrupted": [],
                  "reboot_required": "reboot into the Xen entry", "steps": [
    {{"section": "install", "name": "MultilibEnabled", "status": status, "reason": "r", "remedy": "",
     "diffs": [{{"path": "/etc/pacman.conf", "diff": diff}}], "commands": [], "validated": [], "unvalidated": []}}]}}))
sys.exit(3 if argv[0] == "apply" else 0)
"""

TASKS = [
    ("apply", {"target": TARGET, "params": {"guests": [{"name": "dom01", "root_password_hash_env": "DOM01_ROOT_HASH"}]},
               "secret_env": {"DOM01_ROOT_HASH": SECRET}}, {}),
    ("plan", {"params": {"target": "sample:/x"}, "sections": ["boot", "dom0"]}, {"check_mode": True, "diff": True}),
    ("bad_param", {"params": {"boot": {"dom0_mem": "lots"}}}, {}),
    ("secret_param", {"params": {"guests": [{"name": "dom01", "root_password": "{{ guest_password }}"}],
                                 "api_token": "{{ api_token }}", "tokens": "{{ tokens }}"}}, {}),
    ("bad_env", {"secret_env": {"1 BAD": "x"}}, {}),
    ("no_xenbook", {"xenbook": "/nonexistent/bin/xenbook"}, {}),
]


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    if not (BIN / "ansible-playbook").exists():
        pytest.skip("needs ansible-core in the project's venv (pip install -e '.[test]')")
    d = tmp_path_factory.mktemp("module")
    log = d / "calls.jsonl"
    xenbook = d / "xenbook"
    xenbook.write_text(STAND_IN.format(python=sys.executable, log=str(log)))
    xenbook.chmod(0o755)
    tasks = []
    for name, args, extra in TASKS:
        tasks.append({"name": name, "xenbook.xen.runbook": {"xenbook": str(xenbook), **args}, "register": name,
                      "ignore_errors": True, **extra})
    keep = "{{ {" + ", ".join(f"'{name}': {name}" for name, _, _ in TASKS) + "} | to_json }}"
    tasks.append({"name": "keep", "ansible.builtin.copy": {"content": keep, "dest": str(d / "results.json")}})
    playbook = d / "play.yml"
    secrets = {"guest_password": "hunter2-plain", "api_token": 98765432, "tokens": {"github": "ghp_NOTSHOWN"}}
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks,
                                         "vars": secrets}]))  # as from a vault: a failed task's source shows no secret
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(ROOT), ANSIBLE_NOCOLOR="1", ANSIBLE_HOME=str(d / "ansible"))
    run = subprocess.run([BIN / "ansible-playbook", "-vvv", "-i", "localhost,", "-c", "local", "-e",
                          f"ansible_python_interpreter={sys.executable}", playbook], cwd=d, env=env,
                         capture_output=True, text=True, timeout=300)
    assert (d / "results.json").exists(), run.stdout[-4000:] + run.stderr[-2000:]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return {"run": run, "results": json.loads((d / "results.json").read_text()), "calls": calls}


def test_apply_passes_an_argv_a_private_params_file_and_the_secret(ran):
    call = ran["calls"][0]
    assert call["argv"][:1] == ["apply"] and call["argv"][3:5] == ["--target", TARGET]  # one argument, no shell
    assert not Path("/tmp/xenbook-pwned").exists()
    assert call["mode"] == 0o600 and not Path(call["params_path"]).exists()
    assert call["params"] == {"guests": [{"name": "dom01", "root_password_hash_env": "DOM01_ROOT_HASH"}]}
    assert call["secret"] == SECRET
    result = ran["results"]["apply"]
    assert (result["changed"], result["failed"], result["rc"], result["reboot_required"]) == (True, False, 3, True)
    assert result["steps"][0]["name"] == "MultilibEnabled" and "diff" not in result


def test_check_mode_plans_and_diff_mode_shows_xenbooks_diff(ran):
    call = ran["calls"][1]
    assert call["argv"] == ["plan", "--params", call["params_path"], "--sections", "boot,dom0", "--json"]
    result = ran["results"]["plan"]
    assert result["changed"] and not result["failed"] and result["dry_run"]
    assert result["diff"] == [{"prepared": "--- a/etc/pacman.conf\n+++ b/etc/pacman.conf\n@@ -1 +1,2 @@\n x\n"
                                           "+[multilib]\n"}]
    assert "+[multilib]" in ran["run"].stdout  # the callback prints the prepared diff


@pytest.mark.parametrize("name, message", [
    ("bad_param", "xenbook: bad input, nothing was changed:\n  parameter boot.dom0_mem = 'lots': must be a whole "
                  "number with a unit K, M, G or T, e.g. 2048M or 4G"),
    ("bad_env", "parameter secret_env = '1 BAD': is not the name of an environment variable"),
    ("no_xenbook", "parameter xenbook = '/nonexistent/bin/xenbook': does not exist, and must be the xenbook command, "
                   "an executable file on this node: install xenbook with the role xenbook.xen.install"),
])
def test_errors_name_the_parameter(ran, name, message):
    result = ran["results"][name]
    assert result["failed"] and result["msg"].startswith(message)


def test_no_secret_in_results_or_verbose_output(ran):
    text = ran["run"].stdout + ran["run"].stderr + json.dumps(ran["results"])
    assert SECRET not in text and SECRET.split("$")[-1] not in text
    assert "hunter2-plain" not in text  # a secret-named parameter's value, given by mistake
    assert "98765432" not in text and "ghp_NOTSHOWN" not in text  # a number, and a secret-named mapping's values
    assert '"api_token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in ran["run"].stdout  # -vvv: the invocation
    assert ran["calls"][3]["params"]["guests"][0]["root_password"] == "hunter2-plain"  # xenbook still gets them
    assert (ran["calls"][3]["params"]["api_token"], ran["calls"][3]["params"]["tokens"]) == \
           (98765432, {"github": "ghp_NOTSHOWN"})
