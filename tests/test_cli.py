"""The xenbook command: plan and apply on a sample host, JSON reports, exit codes, bad input."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]


def xenbook(*args, check=None):
    proc = subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=120)
    if check is not None:
        assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() + oct(p.stat().st_mode)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def sample(tmp_path):
    d = tmp_path / "host"
    xenbook("sample", "init", str(d), check=0)
    return d


def test_plan_apply_apply_again(sample):
    target = f"sample:{sample}"
    before = tree_hashes(sample)
    plan = json.loads(xenbook("plan", "--target", target, "--sections", "install,boot", "--json", check=0).stdout)
    assert plan["simulated"] is True and plan["target"] == target
    assert tree_hashes(sample) == before, "a plan wrote to the host"
    by_name = {s["name"]: s for s in plan["steps"]}
    assert by_name["GrubDefaults"]["status"] == "would-change"
    assert "+GRUB_CMDLINE_XEN_DEFAULT=" in by_name["GrubDefaults"]["diffs"][0]["diff"]
    assert by_name["GrubConfig"]["commands"] == ["grub-mkconfig -o /boot/grub/grub.cfg"]
    assert by_name["XenImagePresent"]["status"] == "skipped"  # a fresh sample has no Xen: the install provides it
    assert "would be installed by AurPackageInstalled(xen)" in by_name["XenImagePresent"]["reason"]
    assert set(plan["steps"][0]) >= {"section", "name", "status", "reason", "diffs", "commands"}

    applied = json.loads(xenbook("apply", "--target", target, "--sections", "install,boot", "--json",
                                 "--set", "boot.dom0_mem=4096M", check=0).stdout)
    assert {s["status"] for s in applied["steps"]} == {"ok", "changed"}
    converged = tree_hashes(sample)
    again = json.loads(xenbook("apply", "--target", target, "--sections", "install,boot", "--json",
                               "--set", "boot.dom0_mem=4096M", check=0).stdout)
    assert {s["status"] for s in again["steps"]} == {"ok"}
    assert tree_hashes(sample) == converged, "a second apply changed a byte"

    cfg = (sample / "boot/grub/grub.cfg").read_text()
    assert "multiboot2\t/xen.gz placeholder dom0_mem=4096M,max:4096M" in cfg
    assert "module2\t/vmlinuz-linux placeholder root=UUID=" in cfg
    assert 'set default="xenbook-xen"' in cfg
    check = subprocess.run(["grub-script-check", str(sample / "boot/grub/grub.cfg")], capture_output=True)
    assert check.returncode == 0, check.stderr


def test_human_output_says_simulated(sample):
    out = xenbook("plan", "--target", f"sample:{sample}", "--sections", "install,boot", check=0).stdout
    assert "SIMULATED" in out and "would-change" in out


@pytest.mark.parametrize("setting, named", [
    ("boot.dom0_mem=lots", "boot.dom0_mem"),
    ("boot.dom0_max_vcpus=0", "boot.dom0_max_vcpus"),
    ("boot.console=serial", "boot.console"),
])
def test_bad_values_exit_2_and_leave_host_alone(sample, setting, named):
    before = tree_hashes(sample)
    proc = xenbook("apply", "--target", f"sample:{sample}", "--set", setting)
    assert proc.returncode == 2, proc.stderr
    assert named in proc.stderr and "nothing was changed" in proc.stderr
    assert tree_hashes(sample) == before


def test_bad_values_from_params_file(sample, tmp_path):
    params = tmp_path / "host.yaml"
    params.write_text(f"target: sample:{sample}\nboot:\n  dom0_mem: lots\n  console: serial\n")
    proc = xenbook("apply", "--params", str(params))
    assert proc.returncode == 2
    assert "boot.dom0_mem = 'lots'" in proc.stderr and "boot.console = 'serial'" in proc.stderr


def test_qcow2_images_are_refused_naming_the_parameter_and_why(sample, tmp_path):
    params = tmp_path / "host.yaml"
    params.write_text(f"target: sample:{sample}\nguests:\n  - name: img01\n    storage: image\n"
                      "    image_format: qcow2\n")
    before = tree_hashes(sample)
    proc = xenbook("apply", "--params", str(params), "--sections", "domu")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "guests.0.image_format = 'qcow2': qcow2 is refused" in proc.stderr and "Use raw" in proc.stderr
    assert tree_hashes(sample) == before


def test_params_file_values_used_and_cli_wins(sample, tmp_path):
    params = tmp_path / "host.yaml"
    params.write_text(f"target: sample:{sample}\nboot:\n  dom0_mem: 3G\n  loglvl: all\n")
    out = json.loads(xenbook("plan", "--params", str(params), "--set", "boot.dom0_mem=5G", "--json",
                             check=0).stdout)
    diff = next(s for s in out["steps"] if s["name"] == "GrubDefaults")["diffs"][0]["diff"]
    assert "dom0_mem=5G,max:5G" in diff and "loglvl=all" in diff


def test_unknown_parameter_and_bad_target_exit_2(sample):
    assert xenbook("plan", "--target", f"sample:{sample}", "--set", "boot.nosuch=1").returncode == 2
    assert xenbook("plan", "--target", "ftp:host").returncode == 2
    assert xenbook("plan", "--target", f"sample:{sample}", "--sections", "nosuch").returncode == 2


def test_failed_step_exits_1(sample):
    proc = xenbook("apply", "--target", f"sample:{sample}", "--sections", "boot")  # a new sample has no Xen yet
    assert proc.returncode == 1
    assert "XenImagePresent" in proc.stdout and "install section" in proc.stdout


def test_sample_refuses_a_directory_that_is_not_a_sample(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "precious.txt").write_text("keep me")
    proc = xenbook("plan", "--target", f"sample:{d}")
    assert proc.returncode == 1 and "not a sample host" in proc.stderr
    assert os.listdir(d) == ["precious.txt"]


@pytest.mark.parametrize("wait", ["nan", "inf", "-1"])
def test_wait_is_a_finite_number_of_seconds(sample, wait):
    for command in (("apply", "--target", f"sample:{sample}", "--yes"), ("restore", "--target", f"sample:{sample}",
                                                                        "--run", "20261207T154100Z-1a2b3c")):
        proc = xenbook(*command, f"--wait={wait}")
        assert proc.returncode == 2 and "--wait" in proc.stderr, proc.stderr
