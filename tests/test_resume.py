"""Unattended runs survive the reboot and a killed process: run again and the host ends as if nothing stopped."""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.samples import copy_host
from xenbook.engine import ledger
from xenbook.engine.registry import SECTIONS as BUILT

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7xenbookTestKeyOnlyForTests admin@example"
HASH = "$6$resumesalt$Q9H1cYVb1oJQZ0H0wqXrWmW0k6vYl3b0p8dI5yqzv9M5FJm0C3s8Ff1nq2xW9yWb2vT3sQ0xY7zR4uV6aB8cD."
BEFORE_REBOOT = {"preflight", "install", "boot", "dom0"}


def xenbook(*args, env=None, timeout=300):
    return subprocess.run(XENBOOK + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def new_sample(path: Path) -> Path:
    assert xenbook("sample", "init", path).returncode == 0
    return path


def ledger_records(root: Path) -> list[dict]:
    path = root / "var/lib/xenbook/ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for_start(root: Path, step: str, proc: subprocess.Popen, seconds: float = 120) -> dict:
    """The ledger's start record for step, once the run under test has written it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            found = [r for r in ledger_records(root) if r["kind"] == "start" and r["step"] == step]
        except ValueError:  # a line being written
            found = []
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no start record for {step} within {seconds} s")


def wait_until_building(root: Path, proc: subprocess.Popen, seconds: float = 120) -> Path:
    """xen's build log, once the run under test's makepkg is in build(): makepkg opens the log as build() starts, and
    the slowed sample build then spends 30 s in it, so a kill sent now lands inside the build."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        found = sorted((root / "var/lib/xenbook/build/xen").glob("xen-*-x86_64-build.log"))
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"xen's build did not start within {seconds} s")


def converged_state(root: Path) -> dict[str, str]:
    """Every file's hash and every link's target, without xenbook's own records and pacman's install times."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if rel.startswith(("var/lib/xenbook/backups/", "var/lib/xenbook/ledger.jsonl", "var/lib/xenbook/lock")):
            continue
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            data = re.sub(rb"%INSTALLDATE%\n\d+\n", b"%INSTALLDATE%\nT\n", p.read_bytes())
            out[rel] = hashlib.sha256(data).hexdigest() + oct(p.stat().st_mode)
    return out


def report_of(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_run_stops_at_the_reboot_then_finishes_every_section(tmp_path):
    d = new_sample(tmp_path / "host")
    (tmp_path / "root.hash").write_text(HASH + "\n")
    params = tmp_path / "host.yaml"
    params.write_text(f"target: sample:{d}\nguests:\n  - name: dom01\n    ssh_key: {KEY}\n"
                      f"    root_password_hash_file: {tmp_path / 'root.hash'}\n")
    out = tmp_path / "runs"
    command = ("run", "--params", params, "--apply", "--out", out)

    first = xenbook(*command)
    assert first.returncode == 3, first.stdout + first.stderr
    assert f"what to do: reboot the machine into the Xen entry (a sample host: xenbook reboot --target sample:{d})" \
           in first.stdout
    assert "run the same command again: xenbook run --params" in first.stdout
    done = report_of(out)
    assert {s["section"] for s in done["steps"]} == BEFORE_REBOOT and done["reboot_required"]
    assert not (out / "40-domu-dom01.ipynb").exists()

    again = xenbook(*command)  # not rebooted yet: still stops there, changing nothing
    assert again.returncode == 3, again.stdout + again.stderr
    assert {s["status"] for s in report_of(out)["steps"]} <= {"ok", "skipped"}

    assert xenbook("reboot", "--target", f"sample:{d}").returncode == 0
    resumed = xenbook(*command)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    final = report_of(out)
    steps = {s["name"]: s for s in final["steps"]}
    assert {s["section"] for s in final["steps"]} == set(BUILT) and not final["reboot_required"]
    assert not [s for s in final["steps"] if s["status"] == "failed"]
    assert {s["status"] for s in final["steps"] if s["section"] in ("install", "boot")} == {"ok"}
    assert steps["RebootIntoXen"]["status"] == "changed" and "as dom0" in steps["RebootIntoXen"]["reason"]
    assert "the reboot recorded in" in steps["RebootIntoXen"]["reason"]
    assert steps["GuestRunning(dom01)"]["status"] == "changed"
    page = (out / "report.html").read_text()
    assert all(f"<td>{s}</td>" in page for s in BUILT)

    before, size = converged_state(d), len(ledger_records(d))
    last = xenbook(*command)
    assert last.returncode == 0 and {s["status"] for s in report_of(out)["steps"]} == {"ok"}
    assert converged_state(d) == before and len(ledger_records(d)) == size, "a converged run wrote something"


@pytest.mark.slow
def test_a_killed_apply_converges_like_one_never_stopped(tmp_path):
    # one machine twice (each sample init draws its own /etc/machine-id, and guest identities derive from it)
    reference = new_sample(tmp_path / "reference")
    victim = Path(copy_host(str(reference), str(tmp_path / "victim")))
    sections = ("--sections", "install,boot")
    assert xenbook("apply", "--target", f"sample:{reference}", *sections).returncode == 0

    proc = subprocess.Popen(XENBOOK + ["apply", "--target", f"sample:{victim}", *sections],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "XENBOOK_SAMPLE_BUILD_SECONDS": "30"})
    start = wait_for_start(victim, "AurPackageInstalled(xen)", proc)
    wait_until_building(victim, proc)  # inside the (slowed) build of xen
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert ledger_records(victim)[-1] == start, "the killed run wrote after the step's start"

    refused = xenbook("apply", "--target", f"sample:{victim}", *sections)
    assert refused.returncode == 1
    assert f"another xenbook run (pid {proc.pid} on " in refused.stderr
    assert f"pid {proc.pid} no longer runs" in refused.stderr
    unlock = re.search(r"xenbook (unlock --target \S+ --run \S+)", refused.stderr).group(1).split()
    assert xenbook(*unlock).returncode == 0

    again = xenbook("apply", "--target", f"sample:{victim}", *sections)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "interrupted: step AurPackageInstalled(xen) of section install" in " ".join(again.stdout.split())
    marks = [r for r in ledger_records(victim) if r["kind"] == "interrupted"]
    assert [(m["step"], m["of"]) for m in marks] == [("AurPackageInstalled(xen)", start["id"])]
    assert converged_state(victim) == converged_state(reference)
    assert not ledger.unfinished(ledger_records(victim))


@pytest.mark.slow
def test_a_dead_notebook_kernel_is_told_by_the_ledger_and_the_next_run_continues(tmp_path):
    d = new_sample(tmp_path / "host")
    out = tmp_path / "runs"
    proc = subprocess.Popen(XENBOOK + ["run", "--target", f"sample:{d}", "--sections", "install", "--apply",
                                       "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "XENBOOK_SAMPLE_BUILD_SECONDS": "30"})
    start = wait_for_start(d, "AurPackageInstalled(xen)", proc)
    kernel = int(start["id"].split("/")[1])  # the notebook's kernel process wrote the record
    assert kernel != proc.pid
    wait_until_building(d, proc)
    os.kill(kernel, signal.SIGKILL)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "died during step AurPackageInstalled(xen)" in " ".join(stdout.split())
    # papermill keeps no trustworthy record of a dead kernel (no notebook at all when it does not save per cell)
    marks = [r for r in ledger_records(d) if r["kind"] == "interrupted"]
    assert [(m["step"], m["of"]) for m in marks] == [("AurPackageInstalled(xen)", start["id"])]
    assert not (d / "var/lib/xenbook/lock").exists(), "the run that survived its kernel kept the lock"

    again = xenbook("run", "--target", f"sample:{d}", "--sections", "install", "--apply", "--out", tmp_path / "r2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert not report_of(tmp_path / "r2")["interrupted"]  # told once, by the run it happened in
    assert list((d / "var/lib/pacman/local").glob("xen-4*"))
