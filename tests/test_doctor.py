"""The doctor on sample hosts: one line per area on a healthy host, the cause, evidence and fix on a broken one,
read-only everywhere, and xenbook doctor's output and exit codes."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.doctor import breaks
from tests.test_cli import tree_hashes
from tests.xen_dom0 import xen_dom0
from xenbook.cli.doctor import examine
from xenbook.engine.params import RunbookParams, build
from xenbook.engine.registry import run_sections
from xenbook_sample import SampleHost, init_sample
from xenbook_sample.boot import reboot

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]


def doctor(*args):
    proc = subprocess.run(XENBOOK + ["doctor", *args], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def dom0_template(tmp_path_factory):
    return xen_dom0(str(tmp_path_factory.mktemp("doctor") / "h")).root


@pytest.fixture
def dom0(dom0_template, tmp_path) -> SampleHost:
    shutil.copytree(dom0_template, tmp_path / "h", symlinks=True)
    return SampleHost(str(tmp_path / "h"))


@pytest.fixture(scope="module")
def uefi_templates(tmp_path_factory):
    """A uefi-systemd-boot sample host after install, boot and dom0: before the reboot, and running Xen."""
    base = tmp_path_factory.mktemp("doctor-uefi")
    host = init_sample(str(base / "before"), profile="uefi-systemd-boot")
    report = run_sections(host, RunbookParams(target=host.target), ["install", "boot", "dom0"], dry_run=False)
    assert not report.failed, report.summary()
    shutil.copytree(base / "before", base / "xen", symlinks=True)
    assert reboot(SampleHost(str(base / "xen")))["xen"]
    return base


def found_ids(host) -> list[str]:
    return [f["id"] for f in examine(RunbookParams(target=host.target))["findings"]]


@pytest.mark.parametrize("template, breaking, expected", [
    ("xen", breaks.xenfs_unmounted, "xenfs-not-mounted"),
    ("xen", breaks.secure_boot_on, "secure-boot-unsigned-xen"),
    ("xen", breaks.loader_default_efivar, "systemd-boot-default-overridden"),
    ("xen", breaks.xen_cfg_missing, "xen-cfg-missing"),
    ("xen", breaks.xen_cfg_not_ascii, "xen-cfg-not-ascii"),
    ("xen", breaks.xen_cfg_kernel_missing, "xen-cfg-broken"),
    ("xen", breaks.xen_cfg_section_renamed, "xen-cfg-broken"),
    ("xen", breaks.catch_all_network, "networkd-catch-all"),
    ("xen", breaks.networkd_on_vif, "networkd-touches-vif"),
    ("xen", breaks.xendomains_saving, "xendomains-save-fills"),
    ("xen", breaks.xend_udev_rule, "xend-udev-rules"),
    ("xen", breaks.missing_modules, "emergency-missing-modules"),
    ("xen", breaks.hotplug_failed, "hotplug-scripts-failed"),
    ("xen", breaks.qemu_removed, "xen-unit-failed"),
    ("xen", breaks.xen_nvram_entry_not_first, "efi-bootorder-not-xen"),
    ("xen", breaks.bridge_without_dhcp, "no-network-on-bridge"),
    ("before", lambda h: None, "not-booted-into-xen"),
], ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", "x"))
def test_a_broken_uefi_host_names_the_cause(uefi_templates, tmp_path, template, breaking, expected):
    shutil.copytree(uefi_templates / template, tmp_path / "h", symlinks=True)
    host = SampleHost(str(tmp_path / "h"))
    assert found_ids(host) == ([] if template == "xen" else [expected])  # healthy, or only not rebooted yet
    breaking(host)
    before = tree_hashes(Path(host.root))
    assert expected in found_ids(SampleHost(str(tmp_path / "h")))
    assert tree_hashes(Path(host.root)) == before


def test_a_fresh_host_is_healthy_in_one_line_per_area(tmp_path):
    host = init_sample(str(tmp_path / "h"))
    before = tree_hashes(tmp_path / "h")
    code, out, err = doctor("--target", host.target)
    assert code == 0, out + err
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines[1:6]] == ["boot", "xen", "services", "network", "guests"]
    assert "Xen is not installed yet" in lines[1]
    assert "journal.prev" in out  # what it could not read is said, not an error
    assert tree_hashes(tmp_path / "h") == before


def test_a_healthy_dom0(dom0):
    code, out, err = doctor("--target", dom0.target, "--json")
    assert code == 0, out + err
    result = json.loads(out)
    assert result["findings"] == []
    assert "Xen runs as dom0" in result["areas"]["boot"]["summary"]
    assert "xenstored.service" in result["areas"]["services"]["summary"]
    assert "xenbr0" in result["areas"]["network"]["summary"]


@pytest.mark.parametrize("breaking, expected", [
    (breaks.xenstored_stopped, "xenstored-not-running"),
    (breaks.grub_default_plain_linux, "grub-xen-not-default"),
    (breaks.apic_panic, "apic-panic"),
    (breaks.br_netfilter, "br-netfilter"),
    (lambda h: breaks.guest_log(h, "hvm01", [
        "libxl: error: libxl_create.c:1896:domcreate_devmodel_started: Domain 3:device model did not start: -3"]),
     "device-model-missing"),
    (lambda h: breaks.guest_log(h, "dom01", ["vcpu hard affinity map is empty"]), "vcpu-affinity-empty"),
    (lambda h: breaks.guest_log(h, "dom01", ["libxl: error: libxl_device.c:1319:device_hotplug_child_death_cb: "
                                             "script: Could not find bridge device xenbr1"]), "bridge-missing"),
    (lambda h: breaks.guest_log(h, "big", ["failed to free memory for the domain"]), "oom-autoballoon-off"),
    (lambda h: breaks.guest_log(h, "dom02", ["libxl: error: libxl_create.c:46:libxl__domain_create_info_setdefault: "
                                             "neither hap nor shadow paging available"]), "no-hap-nor-shadow"),
    (breaks.old_xen_package, "zstd-kernel-old-xen"),
], ids=["xenstored", "grub-default", "apic", "br-netfilter", "device-model", "affinity", "bridge", "oom", "no-hap",
        "zstd-old-xen"])
def test_a_broken_dom0_names_the_cause_evidence_and_fix(dom0, breaking, expected):
    breaking(dom0)
    before = tree_hashes(Path(dom0.root))
    code, out, err = doctor("--target", dom0.target, "--json")
    assert code == 1, out + err
    found = {f["id"]: f for f in json.loads(out)["findings"]}
    assert expected in found, found
    assert found[expected]["evidence"] and found[expected]["fix"] and found[expected]["source"]
    assert tree_hashes(Path(dom0.root)) == before  # read-only


def test_the_xen_entry_missing_from_grub_cfg_after_a_reboot_into_plain_linux(dom0):
    breaks.grub_cfg_without_xen(dom0)
    assert not reboot(dom0)["xen"]
    code, out, err = doctor("--target", dom0.target)
    assert code == 1, out + err
    assert "grub-no-xen-entry" in out and "xenbook apply -s boot" in out
    assert "not-booted-into-xen" not in out  # the boot finding names the cause; the symptom is not repeated


def test_a_btrfs_emergency_in_the_previous_boot(tmp_path):
    host = init_sample(str(tmp_path / "h"), profile="btrfs-subvol")
    report = run_sections(host, RunbookParams(target=host.target), ["install"], dry_run=False)
    assert not report.failed
    breaks.btrfs_emergency(host)
    code, out, err = doctor("--target", host.target)
    assert code == 1 and "emergency-btrfs-rootflags" in out, out + err
    assert "/sbin/init does not exist" in out


def test_the_section_reports_one_row_per_area_and_fails_only_when_asked(dom0):
    breaks.xenstored_stopped(dom0)
    plain = run_sections(dom0, RunbookParams(target=dom0.target), ["doctor"], dry_run=True)
    rows = {s.name: s for s in plain.steps}
    assert list(rows) == [f"Doctor({a})" for a in ("boot", "xen", "services", "network", "guests")]
    assert rows["Doctor(services)"].verdict == "warning" and not plain.failed
    assert "xenbook apply -s dom0" in rows["Doctor(services)"].remedy
    strict = build(RunbookParams, {"target": dom0.target, "doctor": {"fail_on_findings": True}})
    assert run_sections(dom0, strict, ["doctor"], dry_run=True).failed


def test_bad_input_exits_2_naming_the_parameter(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("doctor:\n  journal_lines: 1\n")
    code, out, err = doctor("--params", str(params))
    assert code == 2 and "journal_lines" in err, out + err
