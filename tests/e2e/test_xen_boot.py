"""The Xen entry and guest configuration xenbook writes, booted for real: Debian's Xen 4.17 and Linux under QEMU
(software emulation), GRUB 2 loading the entry as written, dom0 running Xen's toolstack, the guest printing a
marker. And the same entry broken two ways, to show the boot fails and where."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e import debian, iso, qemu

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def good_boot(boot_entry):
    return boot_entry("xenbook-entry")


def _xl_json(console: str) -> dict:
    text = console.split("XENBOOK-XL-PARSE-BEGIN", 1)[1].split("XENBOOK-XL-PARSE-END", 1)[0]
    return json.loads(text[text.index("{"):])


def test_every_stage_is_reached_in_order(good_boot):
    good_boot.assert_reached(qemu.STAGES)
    assert qemu.DONE in good_boot.console


def test_xen_and_dom0_run_with_the_command_lines_xenbook_wrote(good_boot, xen_images):
    good_boot.assert_reached(qemu.STAGES[:6])
    xen_args = iso.arguments(xen_images.entry, "multiboot2")
    dom0_args = iso.arguments(xen_images.entry, "module2")
    assert "dom0_mem=512M,max:512M" in xen_args and "console=com1" in xen_args
    assert f"(XEN) Command line: {xen_args}" in good_boot.console, good_boot.explain()
    assert re.search(r"^xen_commandline\s+: " + re.escape(xen_args) + r"\s*$", good_boot.console, re.M)
    assert dom0_args.endswith(" console=hvc0"), "the boot section ends dom0's options with it for Xen's com1"
    assert f"dom0 cmdline: {dom0_args}" in good_boot.console
    # dom0_mem took effect: Xen lists dom0 with exactly 512 MiB
    assert re.search(r"^Domain-0\s+0\s+512\s", good_boot.console, re.M), good_boot.explain()


def test_xl_parses_the_guest_config_inside_dom0(good_boot, xen_images):
    good_boot.assert_reached(qemu.STAGES[:7])
    domain = _xl_json(good_boot.console)
    assert domain["c_info"]["name"] == "dom01" and domain["c_info"]["type"] == "pvh"
    assert domain["b_info"]["max_memkb"] == 256 * 1024 and domain["b_info"]["max_vcpus"] == 1
    for key in ("kernel", "ramdisk", "cmdline"):
        assert domain["b_info"][key] == re.search(rf'^{key} = "(.*)"$', xen_images.guest_cfg, re.M)[1]
    assert domain["disks"][0]["pdev_path"] == "/dev/vg0/dom01" and domain["disks"][0]["vdev"] == "xvda"
    assert domain["nics"][0]["bridge"] == "xenbr0"
    assert 'type = "pvh"' in xen_images.guest_cfg and "target=/dev/vg0/dom01" in xen_images.guest_cfg


def test_the_guest_runs_and_prints_its_marker(good_boot, xen_images):
    good_boot.assert_reached(qemu.STAGES)
    cmdline = re.search(r'^cmdline = "(.*)"$', xen_images.guest_cfg, re.M)[1]
    assert f"dom01| XENBOOK-GUEST-MARKER cmdline: {cmdline}" in good_boot.console, good_boot.explain()
    assert re.search(r"^dom01\s+1\s+256\s+1\s", good_boot.console, re.M)
    # the guest's disk and network device were set up by Xen's hotplug scripts and offered to it
    assert "guest devices: vbd 51712; bridge xenbr0 ports: vif1.0" in good_boot.console, good_boot.explain()


def test_the_guest_reaches_dom0_over_xenbooks_bridge(good_boot, xen_images):
    """xenbr0 made from the dom0 section's networkd files (tests/e2e/network.py), vif1.0 in it by vif-bridge, and the
    guest's ping of dom0's address on it answered."""
    good_boot.assert_reached(qemu.STAGES)
    mac = re.search(r"mac=([0-9a-f:]+)", xen_images.guest_cfg)[1]
    assert re.search(rf"^dom01\| XENBOOK-GUEST-NET eth0 {mac} 10\.0\.0\.2/24: 3 packets transmitted, 3 packets "
                     r"received, 0% packet loss", good_boot.console, re.M), good_boot.explain()
    assert "dom0 xenbr0: 10.0.0.1/24" in good_boot.console
    assert "network: 00-xenbook-xenbr0-enp1s0.network: no enp1s0 in this machine" in good_boot.console


def _capture(console: str, name: str) -> str:
    """What dom0-init.sh printed between XENBOOK-CAPTURE-BEGIN name and its END line (which must say rc=0)."""
    text = console.replace("\r\n", "\n").split(f"XENBOOK-CAPTURE-BEGIN {name}\n", 1)[1]
    body, end = text.split("XENBOOK-CAPTURE-END ", 1)
    assert end.startswith("rc=0"), f"{name} failed: {body[-500:]}"
    return body


def test_the_dashboard_reads_and_acts_on_the_real_toolstack(good_boot):
    """The manage section's parsers on what Xen 4.17's xl and xentop print, with the guest paused by `xl pause`
    (one of the dashboard's actions) and unpaused afterwards (it then prints its marker)."""
    from xenbook.facts import domains
    good_boot.assert_reached(qemu.STAGES)
    by_name = {d["name"]: d for d in domains.parse_xl_list_json(_capture(good_boot.console, "xl-list-l"))}
    assert by_name["dom01"]["type"] == "pvh" and by_name["dom01"]["memory_mib"] == 256
    assert by_name["dom01"]["vcpus"] == 1 and by_name["dom01"]["domid"] == 1
    table = {d["name"]: d for d in domains.parse_xl_list(_capture(good_boot.console, "xl-list"))}
    assert table["Domain-0"]["memory_mib"] == 512 and table["Domain-0"]["domid"] == 0
    assert table["dom01"]["state"] == "paused" and table["dom01"]["memory_mib"] == 256
    top = {d["name"]: d for d in domains.parse_xentop(_capture(good_boot.console, "xentop"))}
    assert top["dom01"]["state"] == "paused" and top["dom01"]["vcpus"] == 1 and top["dom01"]["vbds"] == 1
    assert top["Domain-0"]["memory_kib"] == 512 * 1024 and top["dom01"]["nets"] == 1
    uptimes = {d["name"]: d for d in domains.parse_xl_uptime(_capture(good_boot.console, "xl-uptime"))}
    assert set(uptimes) == {"Domain-0", "dom01"} and uptimes["Domain-0"]["uptime"] > 0


def test_a_module_path_that_does_not_exist_fails_in_grub(boot_entry, xen_images):
    modules = [path for command, path in iso.loaded_paths(xen_images.entry) if command == "module2"]
    broken = xen_images.entry.replace(f" {modules[1]}", " /missing-initramfs.img")
    assert broken != xen_images.entry
    result = boot_entry("missing-module", broken, timeout=120)
    assert result.last_stage == "grub", result.explain()
    assert result.failure == "error: file `/missing-initramfs.img' not found.", result.explain()
    assert "boot stopped after stage 'grub'" in result.explain()


def test_a_wrong_dom0_mem_fails_when_the_guest_is_created(boot_entry, xen_images):
    """Xen ignores dom0_mem=lots and gives dom0 all the memory; with xenbook's autoballoon="off" no guest fits."""
    broken, count = re.subn(r"dom0_mem=\S+", "dom0_mem=lots", xen_images.entry)
    assert count == 1
    result = boot_entry("dom0-mem-lots", broken)
    assert result.last_stage == "xl-parse", result.explain()
    assert result.failure.startswith("XENBOOK-FAIL guest-created: xl create"), result.explain()
    assert "(XEN) Command line: placeholder dom0_mem=lots " in result.console
    assert "Out of memory" in result.console, result.explain()
    total = int(re.search(r"^dom0 kernel .*MemTotal:\s+(\d+) kB", result.console, re.M)[1])
    assert total > 1024 * 1024, "dom0 should have had (nearly) all of the machine's 2 GiB"


@pytest.mark.skipif(Path("/proc/xen/capabilities").exists(), reason="this machine is a Xen host")
def test_xl_dry_run_cannot_parse_a_config_off_a_xen_host(e2e_ready, xen_images, tmp_path):
    """Why the tier parses guest configurations inside dom0: off a Xen host, xl stops before reading them."""
    import subprocess
    cfg = tmp_path / "dom01.cfg"
    cfg.write_text(xen_images.guest_cfg)
    xl = str(debian.XEN_BIN / "xl")
    for argv in ([xl, "-N", "create", str(cfg)], [xl, "create", "-n", str(cfg)]):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "cannot init xl context" in proc.stderr, (argv, proc.stderr)
        assert "Parsing config" not in proc.stderr + proc.stdout
