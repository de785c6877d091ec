"""The collection xenbook.xen on a fleet, with ansible-core: README's "Many hosts" commands run as written (the
inventory's path, the vault password file and a --limit aside) over README's inventory with its hosts replaced by
10 sample hosts on this machine (one with a bad parameter) and two nodes over a real OpenSSH server on 127.0.0.1,
which the role installs xenbook on from the wheelhouse README's command builds. Three runs: a check run with
--diff, the rolling apply (-v), and the same apply again."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.sshd import server  # noqa: F401  (the test sshd, a fixture)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
NODE_PYTHON = "/usr/bin/python3"  # the nodes' interpreter (this machine's, as a node over SSH sees it)
HASH = "$6$xenbookfleet$ZUNEPgKlXYSS2z21Q3PMIwRADRpQMX2tLF2US1GcmG25PqsRbbAnFpdMgMwgKzKdc1tF8fxmV9kvPuFVpa/420"
SAMPLES = [f"s{i:02}" for i in range(1, 11)]  # ten sample hosts on the controller, and two nodes over SSH
BAD = "s03"  # boot.dom0_mem: lots
NODES = ["node1", "node2"]


def readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("\n## Many hosts\n", 1)[1].split("\n## ", 1)[0]


def readme_block(kind: str) -> str:
    return readme_section().split(f"```{kind}\n", 1)[1].split("```", 1)[0]


def readme_commands() -> list[list[str]]:
    return [shlex.split(line) for line in readme_block("sh").splitlines() if line.strip()]


def task_statuses(output: str) -> dict[str, dict[str, set[str]]]:
    """task name -> host -> the statuses the default callback printed (ok, changed, skipping, fatal, failed)."""
    tasks: dict[str, dict[str, set[str]]] = {}
    current: dict[str, set[str]] | None = None
    for line in output.splitlines():
        header = re.match(r"TASK \[(.*)\] \*+$", line)
        if header:
            current = tasks.setdefault(header.group(1), {})
            continue
        status = re.match(r"(ok|changed|skipping|fatal|failed): \[([^\]\s]+)", line)
        if status and current is not None:
            current.setdefault(status.group(2), set()).add(status.group(1))
    return tasks


def _run(argv, cwd, env, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, server):  # noqa: F811
    """README's commands on the fleet, in order: (command, completed process) for the wheelhouse, the check run,
    the apply and the apply again; and the folders."""
    if not (BIN / "ansible-playbook").exists():
        pytest.skip("needs ansible-core in the project's venv (pip install -e '.[test]')")
    if not os.access(NODE_PYTHON, os.X_OK):
        pytest.skip(f"needs {NODE_PYTHON} for the nodes' venvs")
    port, ssh_config, _ = server
    base = tmp_path_factory.mktemp("fleet")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_HOME=str(base / "ansible"), ANSIBLE_REMOTE_TMP=str(base / "remote-tmp"),
               ANSIBLE_PYTHON_INTERPRETER="auto_silent", ANSIBLE_PIPELINING="1")
    commands = readme_commands()
    wheelhouse, export, check, apply = commands
    assert export == ["export", "ANSIBLE_COLLECTIONS_PATH=$PWD"]
    env["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT)

    assert wheelhouse[:2] == ["python3", "ansible_collections/xenbook/xen/scripts/wheelhouse.py"]
    assert wheelhouse[-4] == "--out" and wheelhouse[-2] == "--python-version"
    out = base / "wheelhouse"
    node_version = _run([NODE_PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], base, env)
    built = _run([sys.executable, *wheelhouse[1:-3], out, "--python-version", node_version.stdout.strip()], ROOT, env)
    assert built.returncode == 0, built.stderr[-3000:]

    # xenbook on the controller for the sample hosts (xenbook_install: false): this tree's, through the venv's Python
    venv = base / "controller-venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "xenbook").write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(ROOT))} exec "
                                          f"{shlex.quote(sys.executable)} -m xenbook.cli.main \"$@\"\n")
    (venv / "bin" / "xenbook").chmod(0o755)
    for name in SAMPLES + NODES:
        init = _run([venv / "bin" / "xenbook", "sample", "init", base / "hosts" / name], base, env)
        assert init.returncode == 0, init.stderr

    inventory = yaml.safe_load(readme_block("yaml"))
    group = inventory["xen"]
    params = group["vars"]["xenbook_params"]
    group["vars"].update(xenbook_wheelhouse=str(out), xenbook_reports_dir=str(base / "reports"),
                         xenbook_environment={"XENBOOK_SAMPLE_BUILD_SECONDS": "0",
                                              "XDG_STATE_HOME": str(base / "state")})
    bad_params = copy.deepcopy(params)
    bad_params["boot"]["dom0_mem"] = "lots"
    samples = {name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                      "xenbook_install": False, "xenbook_venv": str(venv),
                      "xenbook_target": f"sample:{base / 'hosts' / name}",
                      "xenbook_report_dir": str(base / "node-reports" / name),
                      **({"xenbook_params": bad_params} if name == BAD else {})} for name in SAMPLES}
    nodes = {name: {"ansible_host": "127.0.0.1", "ansible_port": port, "ansible_user": "root",
                    "ansible_ssh_common_args": f"-F {ssh_config}", "ansible_python_interpreter": NODE_PYTHON,
                    "xenbook_home": str(base / name), "xenbook_venv": str(base / name / "venv"),
                    "xenbook_target": f"sample:{base / 'hosts' / name}",
                    "xenbook_report_dir": str(base / name / "report")} for name in NODES}
    group.pop("hosts")
    group["children"] = {"nodes": {"hosts": nodes}, "samples": {"hosts": samples}}
    inv_dir = base / "inventory"
    (inv_dir / "group_vars" / "xen").mkdir(parents=True)
    (inv_dir / "fleet.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    password = base / "vault-password"
    password.write_text("fleet vault password\n")
    var = re.search(r"ansible-vault encrypt_string --ask-vault-pass --name (\w+)", readme_section()).group(1)
    vaulted = _run([BIN / "ansible-vault", "encrypt_string", "--vault-password-file", password, "--name", var, HASH],
                   base, env)
    assert vaulted.returncode == 0 and HASH not in vaulted.stdout, vaulted.stderr
    (inv_dir / "group_vars" / "xen" / "vault.yml").write_text(vaulted.stdout)

    def as_run(command: list[str], *extra: str) -> list[str]:
        assert command[:4] == ["ansible-playbook", "-i", "fleet.yml",
                               "ansible_collections/xenbook/xen/playbooks/rolling.yml"]
        assert command[-1] == "--ask-vault-pass"
        return [BIN / "ansible-playbook", "-i", inv_dir / "fleet.yml", *command[3:-1],
                "--vault-password-file", password, *extra]

    def timed(argv) -> subprocess.CompletedProcess:
        start = time.monotonic()
        done = _run(argv, ROOT, env)
        print(f"{shlex.join(str(a) for a in argv[3:])}: {time.monotonic() - start:.0f}s")
        return done

    before = {p: p.read_bytes() for p in (base / "hosts" / "s01" / "etc").rglob("*") if p.is_file()}
    runs = {"check": timed(as_run(check, "--limit", "samples"))}
    runs["check_index"] = (base / "reports" / "index.md").read_text()
    runs["check_node_files"] = sorted((base / "node-reports").rglob("*"))  # the nodes' report folders
    runs["check_unchanged"] = before == {p: p.read_bytes() for p in (base / "hosts" / "s01" / "etc").rglob("*")
                                         if p.is_file()}
    runs["apply"] = timed(as_run(apply, "-v"))
    shutil.copytree(base / "reports", base / "reports-after-apply")  # the next run rewrites the reports
    runs["again"] = timed(as_run(apply))
    for name in ("check", "apply", "again"):  # for people to read
        (base / f"{name}.log").write_text(runs[name].stdout + runs[name].stderr)
    return {"base": base, "runs": runs, "commands": commands}


def _record(fleet, host, folder="reports") -> dict:
    return json.loads((fleet["base"] / folder / host / "result.json").read_text())


def test_readme_shows_the_commands_the_test_runs():
    commands = readme_commands()
    assert [c[0] for c in commands] == ["python3", "export", "ansible-playbook", "ansible-playbook"]
    assert commands[2][-3:] == ["--check", "--diff", "--ask-vault-pass"]
    inventory = yaml.safe_load(readme_block("yaml"))
    assert {"xenbook_params", "xenbook_secret_env", "xenbook_wheelhouse"} <= set(inventory["xen"]["vars"])
    for name in ("xenbook_serial", "xenbook_max_fail_percentage", "xenbook_install", "xenbook_report_dir",
                 "xenbook_environment", "xenbook_reports_dir", "xenbook_target", "xenbook_venv"):
        assert name in readme_section(), f"README's Many hosts does not name {name}"
        assert name in (ROOT / "ansible_collections/xenbook/xen/playbooks/rolling.yml").read_text() + \
               (ROOT / "ansible_collections/xenbook/xen/roles/install/defaults/main.yml").read_text(), name


def test_check_mode_plans_with_diffs_and_changes_nothing(fleet):
    run = fleet["runs"]["check"]
    assert run.returncode == 2, run.stdout[-3000:]  # the bad host failed; the others planned
    assert "+[multilib]" in run.stdout and "--- a/etc/pacman.conf" in run.stdout  # xenbook's diffs, --diff
    assert fleet["runs"]["check_unchanged"]
    assert fleet["runs"]["check_node_files"] == []  # no host report written on a node in check mode
    assert "[html](" not in fleet["runs"]["check_index"]  # so none fetched and linked
    plans = task_statuses(run.stdout)["Plan (a dry run on the node)"]
    assert {h: s for h, s in plans.items()} == {**{h: {"changed"} for h in SAMPLES if h != BAD}, BAD: {"fatal"}}
    assert f"{len(SAMPLES) - 1} planned" in fleet["runs"]["check_index"] and "1 failed" in fleet["runs"]["check_index"]


def test_the_rolling_apply_reboots_converges_and_leaves_the_bad_host_alone(fleet):
    run = fleet["runs"]["apply"]
    assert run.returncode == 2, run.stdout[-3000:]
    tasks = task_statuses(run.stdout)
    good = [h for h in SAMPLES + NODES if h != BAD]
    assert set(tasks["Reboot the simulated sample host into Xen"]) == set(good)
    assert all(s == {"skipping"} for s in tasks["Reboot into Xen"].values())  # no real machine here
    for host in good:
        record = _record(fleet, host, "reports-after-apply")
        assert record["apply"]["reboot_required"] and not record["apply"]["failed"], host
        assert record["after_reboot"]["changed"] and not record["after_reboot"]["reboot_required"], host
        assert not record["verify"]["changed"] and not record["verify"]["failed"], host
        assert record["verify"]["counts"] == {"ok": len(record["verify"]["steps"])}, host
        assert record["doctor_rc"] == 0, host
        assert record["verify"]["target"] == f"sample:{fleet['base'] / 'hosts' / host}"
    bad = _record(fleet, BAD, "reports-after-apply")
    assert bad["plan"]["failed"] and "parameter boot.dom0_mem = 'lots': must be a whole number" in bad["plan"]["msg"]
    assert bad["apply"] == {}
    index = (fleet["base"] / "reports-after-apply" / "index.md").read_text()
    assert f"{len(SAMPLES) + 2} hosts: {len(SAMPLES) + 1} converged, 1 failed" in index


def test_the_role_installs_xenbook_on_the_nodes_over_ssh(fleet):
    tasks = task_statuses(fleet["runs"]["apply"].stdout)
    install = "xenbook.xen.install : Install xenbook and its dependencies from the wheelhouse only (no index)"
    assert {h: tasks[install][h] for h in NODES} == {h: {"changed"} for h in NODES}
    for node in NODES:
        xenbook = fleet["base"] / node / "venv" / "bin" / "xenbook"
        version = _run([xenbook, "--version"], fleet["base"], {"PATH": "/usr/bin:/bin"})
        assert version.returncode == 0 and version.stdout.startswith("xenbook, version ")
        python = fleet["base"] / node / "venv" / "bin" / "python"
        where = _run([python, "-c", "import xenbook; print(xenbook.__file__)"], fleet["base"],
                     {"PATH": "/usr/bin:/bin"})
        assert where.stdout.startswith(str(fleet["base"] / node / "venv" / "lib")), where  # the wheel, not this tree
        assert (fleet["base"] / node / "venv" / "xenbook-wheelhouse.json").exists()
        wheel_ids = list((fleet["base"] / node).glob("wheelhouse-*/manifest.json"))
        assert len(wheel_ids) == 1


def test_a_second_run_changes_nothing(fleet):
    run = fleet["runs"]["again"]
    assert run.returncode == 2, run.stdout[-3000:]
    tasks = task_statuses(run.stdout)
    for name, hosts in tasks.items():
        if name.startswith("xenbook.xen.install :"):
            assert all("changed" not in hosts.get(n, set()) for n in NODES), (name, hosts)
    for host in [h for h in SAMPLES + NODES if h != BAD]:
        record = _record(fleet, host)
        assert not record["plan"]["changed"] and not record["apply"]["changed"], host
        assert not record["apply"]["reboot_required"] and record["after_reboot"].get("skipped"), host


def test_each_host_has_its_own_reports_and_the_summary_links_them(fleet):
    reports = fleet["base"] / "reports-after-apply"
    for host in [h for h in SAMPLES + NODES if h != BAD]:
        html = (reports / host / "report.html").read_text()
        assert str(fleet["base"] / "hosts" / host) in html  # its own target, though every host names dom01
        assert (reports / host / "report.md").exists()
        assert f'href="{host}/report.html"' in (reports / "index.html").read_text()
    bad = (reports / BAD / "report.html").read_text()  # the host's own report: it has no Xen yet
    assert str(fleet["base"] / "hosts" / BAD) in bad
    assert f'href="{BAD}/report.html"' in (reports / "index.html").read_text()


def test_the_guests_root_hash_reaches_xenbook_and_no_output(fleet):
    runs = fleet["runs"]
    for name in ("check", "apply", "again"):
        assert HASH not in runs[name].stdout + runs[name].stderr, name
        assert HASH.split("$")[-1] not in runs[name].stdout, name
    for path in [p for folder in fleet["base"].glob("reports*") for p in folder.rglob("*")]:
        assert path.is_dir() or HASH.split("$")[-1] not in path.read_text(), path
    assert '"reboot_required": true' in runs["apply"].stdout  # -v prints the results, which hold no secret
    shadows = list((fleet["base"] / "hosts" / "node1").rglob("shadow"))
    assert any(HASH in p.read_text() for p in shadows)  # the guest's root got it, through the environment
