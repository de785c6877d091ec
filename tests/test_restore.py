"""xenbook restore: a run's file changes put back from its backups, checked against the ledger's digests; a dry run by
default; files the run created removed only while they hold what it wrote; the sample host byte for byte (and modes)
as it was before the run, its whole tree except xenbook's own state."""

import hashlib
import json
import os
import stat
import subprocess
import sys

import pytest

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]
OWN = {".xenbook-sample", "var/lib/xenbook"}  # the simulator's state, xenbook's ledger, backups and locks


def run(*args):
    proc = subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def report(out: str) -> dict:
    """The JSON report in the output (the live step lines go to stderr, after or before it)."""
    return json.JSONDecoder().raw_decode(out[out.index("{"):])[0]


def tree(root) -> dict[str, tuple]:
    out = {}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(rel, d)) not in OWN]
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            key = os.path.normpath(os.path.join(rel, name))
            if stat.S_ISLNK(st.st_mode):
                out[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                out[key] = (stat.S_IMODE(st.st_mode), hashlib.sha256(open(path, "rb").read()).hexdigest())
            else:
                out[key] = (stat.S_IMODE(st.st_mode),)
    return out


@pytest.fixture
def host(tmp_path):
    root = tmp_path / "h"
    assert run("sample", "init", str(root))[0] == 0
    assert run("apply", "--target", f"sample:{root}", "--sections", "install", "--yes")[0] == 0
    (root / "etc/grub.d/40_custom").chmod(0o600)  # a mode the boot run changes (0600 gains x: 0700)
    return root


def last_run(root) -> str:
    return sorted(os.listdir(root / "var/lib/xenbook/backups"))[-1]


def test_restore_puts_the_host_back_byte_for_byte_and_modes(host):
    before = tree(host)
    code, out = run("apply", "--target", f"sample:{host}", "--sections", "boot", "--yes")
    assert code == 0, out
    assert tree(host) != before
    run_id = last_run(host)
    code, out = run("restore", "--target", f"sample:{host}", "--run", run_id)
    assert code == 0 and "would-change" in out and "-GRUB_CMDLINE_XEN_DEFAULT" in out, out  # a dry run shows diffs
    assert tree(host) != before, "a dry run changes nothing"
    code, out = run("restore", "--target", f"sample:{host}", "--run", run_id, "--apply")
    assert code == 0, out
    assert tree(host) == before
    code, out = run("restore", "--target", f"sample:{host}", "--run", run_id, "--apply", "--json")
    assert code == 0 and {s["status"] for s in report(out)["steps"]} == {"ok"}, out  # again: nothing to do


def test_restore_refuses_a_file_changed_since_the_run_naming_it(host):
    code, out = run("apply", "--target", f"sample:{host}", "--sections", "boot,dom0", "--yes")
    assert code == 3, out
    run_id = last_run(host)
    ledger = [json.loads(line) for line in (host / "var/lib/xenbook/ledger.jsonl").read_text().splitlines()]
    created = [w["path"] for r in ledger if r["kind"] == "end" and r["run"] == run_id for w in r["writes"]
               if w["created"] and not w["path"].startswith("/var/lib/xenbook/")]
    assert created, "the dom0 run creates files (the bridge's)"
    with open(host / created[0].lstrip("/"), "a") as f:
        f.write("# mine\n")
    with open(host / "etc/default/grub", "a") as f:
        f.write("# mine too\n")
    code, out = run("restore", "--target", f"sample:{host}", "--run", run_id, "--apply", "--json")
    assert code == 1, out
    steps = {s["name"]: s for s in report(out)["steps"]}
    assert steps[f"RemoveCreated({created[0]})"]["status"] == "failed"
    assert created[0] in steps[f"RemoveCreated({created[0]})"]["reason"]
    assert "refuses" in steps["RestoreFile(/etc/default/grub)"]["reason"]
    assert (host / created[0].lstrip("/")).read_text().endswith("# mine\n"), "refused: left as it is"
    assert steps["RestoreFile(/etc/xen/xl.conf)"]["status"] == "changed", "the other files are restored"


@pytest.mark.parametrize("run_id", ["nosuch", "20200101T000000Z-abc", "../x"])
def test_restore_of_an_unknown_run_is_bad_input(host, run_id):
    code, out = run("restore", "--target", f"sample:{host}", "--run", run_id)
    assert code == 2 and "--run" in out, out


RUN = "20261207T120000Z-abc123"


def fake_run(current: bytes | None, *, tampered_backup: bool = False):
    """A host whose run RUN removed /etc/x (its backup kept), as the runner records a RemoveFile."""
    from xenbook.connectors.fake import FakeHost
    from xenbook.core.actions import RemoveFile
    from xenbook.engine.ledger import digest
    old = b"mine\n"
    backup = f"/var/lib/xenbook/backups/{RUN}/etc/x"
    write = {"path": "/etc/x", "created": False, "before": backup, "after": digest(b""),
             "diff": digest(RemoveFile("/etc/x", old).diff()), "removed": True}
    record = {"v": 1, "kind": "end", "run": RUN, "time": "2026-12-07T12:00:00.000Z", "id": f"{RUN}/1/1",
              "section": "dom0", "step": "X", "status": "changed", "reason": "", "seconds": 0.1, "writes": [write]}
    files = {backup: b"mine, changed\n" if tampered_backup else old,
             "/var/lib/xenbook/ledger.jsonl": json.dumps(record, sort_keys=True) + "\n"}
    if current is not None:
        files["/etc/x"] = current
    return FakeHost(files, modes={backup: 0o600})


@pytest.mark.parametrize("current, tampered, status, text", [
    (None, False, "changed", "put /etc/x back"),
    (b"new\n", False, "failed", "created again after the run removed it"),
    (None, True, "failed", "does not give the diff the ledger recorded"),
])
def test_a_file_the_run_removed_comes_back_from_its_checked_backup(current, tampered, status, text):
    from xenbook.engine.restore import restore_steps
    from xenbook.engine.runner import Runner
    host = fake_run(current, tampered_backup=tampered)
    report = Runner(host, dry_run=False).run(restore_steps(host, RUN))
    step = report.steps[0]
    assert step.status == status and text in step.reason, step
    if status == "changed":
        assert host.read_bytes("/etc/x") == b"mine\n" and host.stat("/etc/x").mode == 0o600
