"""A secret passed by reference reaches the guest and nothing else: no notebook, report, ledger, backup or log."""

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7xenbookTestKeyOnlyForTests admin@example"
CRYPT = string.ascii_letters + string.digits + "./"
SALT = "".join(secrets.choice(CRYPT) for _ in range(16))
BODY = "".join(secrets.choice(CRYPT) for _ in range(86))
SECRET = f"$6${SALT}${BODY}"
NEEDLES = (SECRET, SALT, BODY[20:44])  # the whole hash and distinctive parts of it
ENV = "XENBOOK_TEST_ROOT_HASH"


def xenbook(*args, seen: list[str]):
    proc = subprocess.run(XENBOOK + [str(a) for a in args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, ENV: SECRET})
    seen += [proc.stdout, proc.stderr]
    return proc


def leaks(root: Path, skip: tuple[Path, ...] = ()) -> list[str]:
    """Files under root (none under skip) that hold a needle, as bytes, in any encoding step."""
    found = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink() and not any(p.is_relative_to(s) for s in skip):
            data = p.read_bytes()
            found += [f"{p}: {n[:12]}..." for n in NEEDLES if n.encode() in data or json.dumps(n)[1:-1].encode()
                      in data]
    return found


@pytest.mark.slow
def test_a_secret_by_reference_appears_in_no_artifact(tmp_path):
    d = tmp_path / "host"
    seen: list[str] = []
    assert xenbook("sample", "init", d, seen=seen).returncode == 0
    params = tmp_path / "host.yaml"
    params.write_text(f"target: sample:{d}\nguests:\n  - name: dom01\n    ssh_key: {KEY}\n"
                      f"    root_password_hash_env: {ENV}\n")
    runs = tmp_path / "runs"
    first = xenbook("run", "--params", params, "--apply", "--out", runs / "before", seen=seen)
    assert first.returncode == 3, first.stdout + first.stderr
    assert xenbook("reboot", "--target", f"sample:{d}", seen=seen).returncode == 0
    second = xenbook("run", "--params", params, "--apply", "--out", runs / "after", seen=seen)
    assert second.returncode == 0, second.stdout + second.stderr
    page = tmp_path / "report" / "host.html"
    assert xenbook("report", "--params", params, "--out", page, seen=seen).returncode == 0
    assert xenbook("plan", "--params", params, "--json", seen=seen).returncode == 0

    # the hash was used: it is in the guest's /etc/shadow (inside its simulated volume) and nowhere else
    shadows = [p for p in (d / ".xenbook-sample/volumes").rglob("shadow") if SECRET.encode() in p.read_bytes()]
    assert len(shadows) == 1, "the guest never got the password hash"
    assert leaks(d, skip=(shadows[0],)) == []

    # the notebook is handed the guest's name and the run's parameters file, which names the variable, not its value
    notebook = json.loads((runs / "after" / "40-domu-dom01.ipynb").read_text())
    given = notebook["metadata"]["papermill"]["parameters"]
    assert given["name"] == "dom01" and "root_password_hash_env" not in given
    whole = yaml.safe_load(Path(given["params_file"]).read_text())
    assert whole["guests"][0]["root_password_hash_env"] == ENV and whole["guests"][0]["root_password_hash_file"] is None

    artifacts = sorted(p.name for p in (runs / "after").iterdir())
    assert {"report.json", "report.html", "40-domu-dom01.ipynb", "domu-dom01.report.json"} <= set(artifacts)
    assert (d / "var/lib/xenbook/ledger.jsonl").exists() and list((d / "var/lib/xenbook/backups").rglob("*"))
    assert list((d / "var/log").rglob("*.log")), "no log to search"
    assert leaks(runs) == [] and leaks(page.parent) == []
    assert [n for n in NEEDLES for text in seen if n in text] == [], "a command printed the secret"


# a secret typed where it does not belong: (the parameters file, --set pairs, the parameter the message still names)
MISPLACED = [
    (f"guests:\n  - name: dom01\n    root_password_hash: '{SECRET}'\n", [], "guests.0.root_password_hash"),
    (f"guests:\n  - name: dom01\n    root_password_hash_env: '{SECRET}'\n", [], "guests.0.root_password_hash_env"),
    (f"guests:\n  - name: dom01\n    root_password: {BODY}\n", [], "guests.0.root_password"),
    (f"guests:\n  - name: dom01\n    ssh_key: '{SECRET}'\n", [], "guests.0.ssh_key"),
    (f"boot:\n  grub_password: {BODY}\n", [], "boot.grub_password"),
    (f"root_password: {BODY}: x\n", [], "params"),  # no YAML: PyYAML's message quotes the line holding it
    (f"guests:\n  - name: dom01\n    memory: '{SECRET}\n", [], "params"),
    ("", [f"guests.0.root_password={BODY}"], "guests"),
    ("", [f"boot.password=[{BODY}"], "boot.password"),
    ("", [f"boot.dom0_mem={SECRET}"], "boot.dom0_mem"),
]


@pytest.mark.parametrize("text, sets, named", MISPLACED)
def test_a_misplaced_secret_is_named_but_never_shown(tmp_path, text, sets, named):
    from click.testing import CliRunner

    from xenbook.cli.main import main
    params = tmp_path / "host.yaml"
    params.write_text("target: sample\n" + text)
    result = CliRunner().invoke(main, ["plan", "--params", str(params)] + [a for s in sets for a in ("--set", s)])
    assert result.exit_code == 2, result.output
    assert f"parameter {named}" in result.output, result.output
    assert "(hidden by xenbook)" in result.output or "is not valid YAML" in result.output, result.output
    assert not any(n in result.output for n in NEEDLES), result.output
