"""The preflight section end to end: the sample host's programs and files, the CLI's rows, exit codes and tables."""

import json
import os
import subprocess
import sys

import pytest

from xenbook.core.commands import Command
from xenbook.engine.params import RunbookParams
from xenbook.engine.results import to_html
from xenbook.engine.runner import Runner
from xenbook.facts import system
from xenbook.sections.preflight.params import PreflightParams
from xenbook.sections.preflight.steps import CHECKS, preflight_steps
from xenbook_sample import PROFILES, init_sample

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]
ROWS = [c.name for c in CHECKS]


def xenbook(*args):
    return subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    return {name: init_sample(str(root / name), profile=name) for name in PROFILES}


def preflight(host, **params):
    report = Runner(host).run(preflight_steps(RunbookParams(preflight=PreflightParams(**params)), host))
    return report, {s.name: s for s in report.steps}


# the sample host's programs and files, in the real tools' formats

def test_df_prints_gnu_coreutils_columns(samples):
    host = samples["bios-grub2"]
    out = host.run(Command.of("df", "-B1", "--output=avail,size,fstype", "/boot"))
    header, row = out.stdout.splitlines()
    assert header.split() == ["Avail", "1B-blocks", "Type"]
    space = system.parse_df(out.stdout)
    assert space.fstype == "ext4" and 0 < space.avail < space.size <= 1024 ** 3
    assert header.index("1B-blocks") + len("1B-blocks") == len(row) - len(" ext4"), "numbers are right-aligned"
    plain = host.run(Command.of("df")).stdout.splitlines()
    assert plain[0].split() == ["Filesystem", "1K-blocks", "Used", "Available", "Use%", "Mounted", "on"]
    assert any(line.startswith("/dev/sda2") and line.endswith(" /boot") for line in plain)
    missing = host.run(Command.of("df", "/nowhere"))
    assert missing.returncode == 1 and missing.stderr == "df: /nowhere: No such file or directory\n"
    assert host.run(Command.of("df", "--output=nosuch")).returncode == 1


def test_df_counts_written_files(tmp_path):
    host = init_sample(str(tmp_path / "h"))
    before = system.free_space(host, "/boot")
    host.write_atomic("/boot/big.img", b"x" * (4 << 20))
    after = system.free_space(host, "/boot")
    assert before.avail - after.avail == 4 << 20 and before.size == after.size


def test_dmesg_has_the_profiles_lines(samples):
    log = samples["no-virt"].run(Command.of("dmesg")).stdout.splitlines()
    assert log[0].startswith("[    0.000000] Linux version 6.17.9-arch1-1 ")
    assert "[    0.093120] x86/cpu: VMX (outside TXT) disabled by BIOS" in log
    stamps = [float(line[1:13]) for line in log]
    assert stamps == sorted(stamps)
    assert "disabled by BIOS" not in samples["bios-grub2"].run(Command.of("dmesg")).stdout
    assert samples["bios-grub2"].run(Command.of("dmesg", "-t")).stdout.startswith("Linux version ")


@pytest.mark.parametrize("profile, table, unit, kvm", [
    ("bios-grub2", "DMAR", "dmar0", "kvm_intel"), ("uefi-systemd-boot", "IVRS", "ivhd0", "kvm_amd"),
    ("no-virt", None, None, None),
])
def test_device_files(samples, profile, table, unit, kvm):
    host = samples[profile]
    tables = host.listdir("/sys/firmware/acpi/tables")
    assert {"FACP", "APIC"} <= set(tables) and ({table} <= set(tables) if table else not {"DMAR", "IVRS"} & set(tables))
    assert host.listdir("/sys/class/iommu") == ([unit] if unit else [])
    if table:
        data = host.read_bytes(f"/sys/firmware/acpi/tables/{table}")
        assert data[:4] == table.encode() and sum(data) % 256 == 0, "an ACPI table with a valid checksum"
    modules = host.read_text("/proc/modules").splitlines()
    assert all(len(line.split()) == 6 and line.split()[4] == "Live" for line in modules)
    assert (kvm in [m.split()[0] for m in modules]) if kvm else not any(m.startswith("kvm") for m in modules)


# every row on every profile

@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_row_has_a_verdict_and_facts(samples, profile):
    report, rows = preflight(samples[profile])
    assert list(rows) == ROWS
    assert all(s.verdict in ("ok", "warning", "blocking") and s.value and s.reason for s in report.steps)
    assert all(s.remedy for s in report.steps if s.verdict != "ok")
    json.dumps(report.facts)  # plain data
    assert {"cpu", "memory", "iommu", "xen", "boot_mode", "boot_loader", "boot_space", "kernel",
            "kernel_compression", "distribution", "hypervisor_modules"} <= set(report.facts)


def test_profiles_verdicts(samples):
    _, grub2 = preflight(samples["bios-grub2"])
    assert {n: grub2[n].verdict for n in ("CpuVirtualization", "Iommu", "BootLoader", "BootSpace", "KernelDom0")} == \
        dict.fromkeys(("CpuVirtualization", "Iommu", "BootLoader", "BootSpace", "KernelDom0"), "ok")
    _, uefi = preflight(samples["uefi-systemd-boot"])
    assert uefi["CpuVirtualization"].value == "AMD-V (svm)" and uefi["BootMode"].value == "uefi, Secure Boot off"
    assert uefi["BootLoader"].value == "systemd-boot" and uefi["BootSpace"].value.startswith("vfat, ")
    _, legacy = preflight(samples["bios-grub-legacy"])
    assert legacy["BootLoader"].verdict == "warning"


def test_no_virt_cpu_row_is_blocking_with_the_firmware_remedy(samples):
    report, rows = preflight(samples["no-virt"])
    cpu = rows["CpuVirtualization"]
    assert (cpu.status, cpu.verdict) == ("ok", "blocking")
    assert "disabled by BIOS" in cpu.value and "x86/cpu: VMX (outside TXT) disabled by BIOS" in cpu.reason
    assert "Intel VT-x" in cpu.remedy and "firmware" in cpu.remedy
    assert report.facts["cpu"]["firmware_evidence"] == ["x86/cpu: VMX (outside TXT) disabled by BIOS"]
    assert rows["Iommu"].verdict == "warning"
    _, pv_only = preflight(samples["no-virt"], hvm_guests=False)
    assert pv_only["CpuVirtualization"].verdict == "warning"
    strict, rows = preflight(samples["no-virt"], require_ready=True)
    assert [s.name for s in strict.failed] == ["CpuVirtualization"]


def test_html_shows_value_and_coloured_verdict(samples):
    report, _ = preflight(samples["no-virt"])
    page = to_html(report)
    assert "<b>missing: Intel VT-x disabled by BIOS</b>" in page
    assert '<td style="color:#c62828;font-weight:bold">blocking</td>' in page  # a check's one status: its verdict
    assert '<td style="color:#b26a00;font-weight:bold">warning</td>' in page
    assert ">ok<br>" not in page and "<br><span" not in page, "a row shows its status and its verdict"
    strict, _ = preflight(samples["no-virt"], require_ready=True)  # a blocking check that fails the run
    assert '<td style="color:#c62828;font-weight:bold">failed</td>' in to_html(strict)
    assert "<i>verdict:</i> blocking" in to_html(strict)
    assert "readiness: 10 ok, 1 warning, 1 blocking" in report.summary()  # a new sample host has no Xen


# the command line

def test_cli_json_rows_and_exit_codes(tmp_path):
    target = f"sample:{tmp_path / 'nv'}"
    assert xenbook("sample", "init", str(tmp_path / "nv"), "--profile", "no-virt").returncode == 0
    proc = xenbook("plan", "--target", target, "--sections", "preflight", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [s["name"] for s in report["steps"]] == ROWS
    assert all(s["verdict"] in ("ok", "warning", "blocking") for s in report["steps"])
    cpu = next(s for s in report["steps"] if s["name"] == "CpuVirtualization")
    assert cpu["verdict"] == "blocking" and "disabled by BIOS" in cpu["reason"] and "VT-x" in cpu["remedy"]
    assert report["facts"]["cpu"]["firmware_disabled"] == "yes"
    strict = xenbook("plan", "--target", target, "--sections", "preflight", "--set", "preflight.require_ready=true",
                     "--json")
    assert strict.returncode == 1
    assert [s["name"] for s in json.loads(strict.stdout)["steps"] if s["status"] == "failed"] == ["CpuVirtualization"]


def test_cli_prints_the_readiness_table(tmp_path):
    proc = subprocess.run(XENBOOK + ["plan", "--target", f"sample:{tmp_path / 'h'}", "--sections", "preflight"],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, COLUMNS="200"))
    assert proc.returncode == 0, proc.stderr
    assert "readiness" in proc.stdout and "verdict" in proc.stdout and "what to do" in proc.stdout
    assert "Intel VT-x (vmx)" in proc.stdout and "readiness: " in proc.stdout


# the notebook, run unattended

@pytest.mark.slow
def test_notebook_reports_rows_and_fails_only_when_ready_is_required(tmp_path):
    import nbformat
    import papermill

    from xenbook.cli.run import notebooks_dir

    init_sample(str(tmp_path / "nv"), profile="no-virt")
    source, report = str(notebooks_dir() / "00-preflight.ipynb"), tmp_path / "report.json"
    params = {"target": f"sample:{tmp_path / 'nv'}", "report_path": str(report)}
    papermill.execute_notebook(source, str(tmp_path / "out.ipynb"), parameters=params, kernel_name="python3",
                               progress_bar=False)
    rows = {s["name"]: s for s in json.loads(report.read_text())["steps"]}
    assert list(rows) == ROWS and rows["CpuVirtualization"]["verdict"] == "blocking"
    shown = json.dumps([c.get("outputs") for c in nbformat.read(tmp_path / "out.ipynb", as_version=4).cells])
    assert "SIMULATED host" in shown and "disabled by BIOS" in shown
    with pytest.raises(papermill.PapermillExecutionError, match="CpuVirtualization"):
        papermill.execute_notebook(source, str(tmp_path / "strict.ipynb"), kernel_name="python3", progress_bar=False,
                                   parameters=dict(params, require_ready=True))
