"""The lifecycle tier: on every sample profile the whole runbook with a guest, through the CLI, as a user runs it:
apply, reboot, apply, reboot, apply, reboot, apply. From the first apply after the first reboot on, every step is ok
and the host's files stay byte-identical; after each reboot the host is healthy, read through the host's own
commands (ip, systemctl, xl) and its boot loader: a default route through the bridge, the Xen entry booted by
default, dom0's units active, the autostarted guest running. Changing a parameter and reverting it restores the
original bytes."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from xenbook.connectors.targets import open_host
from xenbook.core.commands import Command
from xenbook_sample.profiles import PROFILES

GUEST = {"name": "dom01", "memory": 512, "vcpus": 1, "storage": "lvm", "size": "8G", "packages": ["openssh"],
         "autostart": True,
         "ssh_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTheSampleHost00000000000 admin@example"}
UNITS = ("xenstored.service", "xenconsoled.service", "xen-init-dom0.service", "xendomains.service")
# what changes on every run or boot by design: the simulator's own state, xenbook's run records, logs, kernel views
VOLATILE = (".xenbook-sample", "proc", "sys", "run", "dev", "tmp", "var/log", "var/lib/xenbook/runs",
            "var/lib/xenbook/ledger.jsonl", "var/lib/xenbook/lock", "var/lib/xenbook/backups")

DOM0_PROFILES = sorted(n for n, p in PROFILES.items() if p.virt == "none")
GUEST_PROFILES = sorted(n for n, p in PROFILES.items() if p.virt != "none")


def params_for(profile: str) -> dict:
    p = PROFILES[profile]
    guest = dict(GUEST, storage="lvm" if p.volume_groups else "image",
                 type="pvh" if "vmx" in p.cpu.flags or "svm" in p.cpu.flags else "pv")
    if guest["storage"] == "image":
        guest.pop("size")
        guest["size"] = "4G"
    return {"target": "sample", "sections": ["preflight", "install", "boot", "dom0", "domu"],
            "boot": {"dom0_mem": "2048M", "dom0_max_vcpus": 1, "dom0_vcpus_pin": True},
            "dom0": {"xendomains": True}, "guests": [guest]}


def xenbook(*args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "xenbook.cli.main", *args], capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def apply(root: Path, params: Path) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "xenbook.cli.main", "apply", "--target", f"sample:{root}", "--params",
                           str(params), "--json"], capture_output=True, text=True, timeout=600)
    out = proc.stdout
    assert "{" in out, proc.stdout + proc.stderr
    return proc.returncode, json.loads(out[out.index("\n{") + 1 if not out.startswith("{") else 0:])


def reboot(root: Path) -> dict:
    code, out = xenbook("reboot", "--target", f"sample:{root}", "--json")
    assert code == 0, out
    return json.loads(out[out.index("{"):])


def not_ok(report: dict) -> list[str]:
    return [f"{s['section']}/{s['name']}: {s['status']}: {s['reason']}" for s in report["steps"]
            if s["status"] != "ok"]


def tree(root: Path) -> dict[str, str]:
    """sha256 (or link target, or mode) of every file of the host outside what changes by design."""
    out = {}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(rel, d)) not in VOLATILE]
        for name in files:
            path = os.path.join(folder, name)
            key = os.path.normpath(os.path.join(rel, name))
            if key in VOLATILE:
                continue
            st = os.lstat(path)
            out[key] = (f"-> {os.readlink(path)}" if os.path.islink(path) else
                        f"{st.st_mode:o} " + hashlib.sha256(Path(path).read_bytes()).hexdigest())
    return out


def changed_files(before: dict, after: dict) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def health(root: Path, booted: dict, guest: bool = True, bridge: str = "xenbr0") -> list[str]:
    """What is wrong with the host after a reboot, read through its own commands."""
    problems = []
    if not booted.get("xen"):
        problems.append(f"the default entry {booted.get('entry')!r} did not boot Xen")
    with open_host(f"sample:{root}") as host:
        routes = json.loads(host.run(Command.of("ip", "-j", "route", "show", "default")).stdout or "[]")
        if [r.get("dev") for r in routes] != [bridge]:
            problems.append(f"the default route is {routes}, not through {bridge}")
        for unit in UNITS:
            state = host.run(Command.of("systemctl", "is-active", unit)).stdout.strip()
            if state != "active":
                problems.append(f"{unit} is {state}")
        listed = host.run(Command.of("xl", "list", GUEST["name"]))
        if guest and listed.returncode != 0:
            problems.append(f"the autostarted guest is not running: {listed.stderr.strip()}")
    return problems


def lifecycle(tmp_path: Path, profile: str, params: dict) -> None:
    """apply (stops for the reboot into Xen), then three times: reboot, check health, apply."""
    root = tmp_path / profile
    code, out = xenbook("sample", "init", "--profile", profile, str(root))
    assert code == 0, out
    file = tmp_path / "params.yaml"
    file.write_text(yaml.safe_dump(params))
    code, first = apply(root, file)
    assert code == 3, not_ok(first)  # stops at the reboot into Xen
    trees = []
    for boot in (1, 2, 3):
        assert health(root, reboot(root), guest=boot > 1) == [], f"after reboot {boot}"
        code, report = apply(root, file)
        assert code == 0, not_ok(report)
        if boot > 1:
            assert not_ok(report) == [], f"apply {boot + 1}"
        trees.append(tree(root))
    assert changed_files(trees[0], trees[1]) == [] and changed_files(trees[1], trees[2]) == []


@pytest.mark.slow
@pytest.mark.parametrize("profile", DOM0_PROFILES)
def test_lifecycle_converges_and_the_host_stays_healthy(tmp_path, profile):
    lifecycle(tmp_path, profile, params_for(profile))


CHANGES = {  # a parameter changed, then set back: each section's kind of change, a reboot-needing one among them
    "boot.loglvl": lambda p: dict(p, boot=dict(p["boot"], loglvl="all")),
    "boot.dom0_mem": lambda p: dict(p, boot=dict(p["boot"], dom0_mem="3072M")),
    "boot.console": lambda p: dict(p, boot=dict(p["boot"], console="com1")),
    "dom0.xendomains_save": lambda p: dict(p, dom0=dict(p["dom0"], xendomains_save=True)),
    "guests.memory": lambda p: dict(p, guests=[dict(p["guests"][0], memory=768)]),
}


@pytest.mark.slow
def test_changing_a_parameter_and_reverting_it_restores_the_bytes(tmp_path):
    params = params_for("bios-grub2")
    lifecycle(tmp_path, "bios-grub2", params)
    root, file = tmp_path / "bios-grub2", tmp_path / "params.yaml"
    before = tree(root)
    for name, change in CHANGES.items():
        file.write_text(yaml.safe_dump(change(params)))
        code, report = apply(root, file)
        assert code in (0, 3) and not_ok(report), f"{name}: the change was applied"
        assert changed_files(before, tree(root)), f"{name}: the change wrote something"
        file.write_text(yaml.safe_dump(params))
        code, report = apply(root, file)
        assert code == 0, not_ok(report)
        assert changed_files(before, tree(root)) == [], f"{name}: reverting it left other bytes"


@pytest.mark.slow
@pytest.mark.parametrize("profile", GUEST_PROFILES)
def test_guest_profile_lifecycle_converges(tmp_path, profile):
    """A profile that is itself a guest of Xen runs its runbook (preflight, pv-guest) through the same cycle."""
    root = tmp_path / profile
    code, out = xenbook("sample", "init", "--profile", profile, str(root))
    assert code == 0, out
    file = tmp_path / "params.yaml"
    file.write_text(yaml.safe_dump({"target": "sample", "sections": ["preflight", "pv-guest"]}))
    code, report = apply(root, file)
    assert code in (0, 3), not_ok(report)
    trees = []
    for boot in (1, 2, 3):
        reboot(root)
        code, report = apply(root, file)
        assert code == 0 and not_ok(report) == [], not_ok(report)
        trees.append(tree(root))
    assert changed_files(trees[0], trees[1]) == [] and changed_files(trees[1], trees[2]) == []
