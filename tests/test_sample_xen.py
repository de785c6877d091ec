"""The sample host under Xen: systemctl, the simulated reboot, ip, xl and xentop, and the parsers of their output."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from xenbook.core.commands import Command
from xenbook.facts import domains
from xenbook.facts.xen import parse_xl_info, xen_state
from xenbook_sample import SampleHost, init_sample, xencmdline, xlconfig
from xenbook_sample.boot import reboot
from xenbook_sample.xl import virt_caps

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]
XEN_UNITS = ("xenstored", "xenconsoled", "xen-init-dom0", "xen-qemu-dom0-disk-backend", "xendomains")
NOT_XEN = ("xencall: error: Could not obtain handle on privileged command interface: No such file or directory\n"
           "libxl: error: libxl.c:102:libxl_ctx_alloc: cannot open libxc handle: No such file or directory\n"
           "cannot init xl context\n")
GUEST = """\
# dom01, as the runbook's domU section writes it
name = "dom01"
type = "pvh"
memory = 1024
maxmem = 1024
vcpus = 2
kernel = "/var/lib/xen/boot/dom01/vmlinuz-linux"
cmdline = "root=/dev/xvda rw console=hvc0"
disk = [ 'format=raw, vdev=xvda, access=rw, target=/var/lib/xen/images/dom01.img' ]
vif  = [ 'mac=00:16:3e:12:34:56, bridge=xenbr0' ]
on_poweroff = "destroy"; on_reboot = "restart"
"""
BRIDGE = {  # named to sort before the stock 20-wired.network: systemd-networkd uses the first file that matches
    "/etc/systemd/network/10-xenbr0.netdev": "[NetDev]\nName=xenbr0\nKind=bridge\n",
    "/etc/systemd/network/10-xenbr0-uplink.network": "[Match]\nName=enp1s0\n\n[Network]\nBridge=xenbr0\n",
    "/etc/systemd/network/10-xenbr0.network": "[Match]\nName=xenbr0\n\n[Network]\nDHCP=yes\n"}


def run(host, *argv, stdin=None):
    return host.run(Command.of(*argv, stdin=stdin))


def cli(*args):
    env = dict(os.environ, XENBOOK_SAMPLE_BUILD_SECONDS="0")
    proc = subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=300, env=env)
    return proc.returncode, proc.stdout, proc.stderr


def applied(directory, profile, *extra) -> str:
    assert cli("sample", "init", str(directory), "--profile", profile)[0] == 0
    code, out, err = cli("apply", "--target", f"sample:{directory}", "--sections", "install,boot", *extra)
    assert code == 0, out + err
    return str(directory)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A bios-grub2 sample after `xenbook apply --sections install,boot`, not yet rebooted (copied per test)."""
    return applied(tmp_path_factory.mktemp("template") / "host", "bios-grub2")


@pytest.fixture
def fresh(installed, tmp_path) -> SampleHost:
    shutil.copytree(installed, tmp_path / "host", symlinks=True)
    return SampleHost(str(tmp_path / "host"))


@pytest.fixture
def dom0(fresh) -> SampleHost:
    """The installed sample with Xen's services, a guest's files and the xenbr0 bridge, rebooted into Xen."""
    assert run(fresh, "systemctl", "enable", *XEN_UNITS).ok
    for path, text in BRIDGE.items():
        fresh.write_atomic(path, text.encode())
    for path in ("/var/lib/xen/boot/dom01/vmlinuz-linux", "/var/lib/xen/images/dom01.img"):
        fresh.makedirs(os.path.dirname(path))
        fresh.write_atomic(path, b"SIMULATED guest file\n")
    fresh.write_atomic("/etc/xen/dom01.cfg", GUEST.encode())
    assert reboot(fresh)["xen"]
    return fresh


# systemctl

@pytest.fixture
def simulated(fresh, monkeypatch, tmp_path) -> SampleHost:
    """The installed sample on a machine without systemctl, so its own simulation answers enable, disable and
    is-enabled (where one is installed the real one does: tests/test_services_real.py), after its one note."""
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))
    first = run(fresh, "systemctl", "is-enabled", "-q", "xenstored")
    assert first.stderr.startswith("[simulated] no systemctl is installed on this machine")
    return fresh


def test_systemctl_enable_is_enabled_disable(simulated):
    fresh = simulated
    result = run(fresh, "systemctl", "enable", "xenstored", "serial-getty@hvc0.service")
    assert result.ok and result.stdout == ""
    assert result.stderr == (
        "Created symlink '/etc/systemd/system/multi-user.target.wants/xenstored.service' \u2192 "
        "'/usr/lib/systemd/system/xenstored.service'.\n"
        "Created symlink '/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service' \u2192 "
        "'/usr/lib/systemd/system/serial-getty@.service'.\n")
    assert os.readlink(os.path.join(fresh.root, "etc/systemd/system/multi-user.target.wants/xenstored.service")) \
        == "/usr/lib/systemd/system/xenstored.service"
    assert run(fresh, "systemctl", "enable", "xenstored").stderr == ""  # already enabled: nothing to say
    result = run(fresh, "systemctl", "is-enabled", "xenstored", "proc-xen.mount", "xendomains", "nosuch")
    assert result.stdout.split() == ["enabled", "static", "disabled", "not-found"] and result.returncode == 0
    assert run(fresh, "systemctl", "is-enabled", "xendomains").returncode == 1
    result = run(fresh, "systemctl", "disable", "xenstored")
    assert result.ok and result.stderr == "Removed '/etc/systemd/system/multi-user.target.wants/xenstored.service'.\n"
    assert run(fresh, "systemctl", "is-enabled", "-q", "xenstored").returncode == 1


def test_systemctl_refusals(simulated):
    fresh = simulated
    before = sorted(os.listdir(os.path.join(fresh.root, "etc/systemd/system")))
    result = run(fresh, "systemctl", "enable", "xenstored", "nosuch.service")
    assert result.returncode == 1
    assert result.stderr == "Failed to enable unit: Unit file nosuch.service does not exist.\n"
    assert sorted(os.listdir(os.path.join(fresh.root, "etc/systemd/system"))) == before
    assert run(fresh, "systemctl", "daemon-reload").ok
    assert run(fresh, "systemctl", "frobnicate", "x").stderr == "Unknown command verb 'frobnicate'.\n"
    assert run(fresh, "systemctl", "--root=/mnt", "is-active", "x").stderr == \
        "Verb 'is-active' cannot be used with --root= or --image=.\n"
    assert "no installation config" in run(fresh, "systemctl", "enable", "proc-xen.mount").stderr


def test_systemctl_root_option(simulated):
    fresh = simulated
    fresh.makedirs("/mnt/guest/usr/lib/systemd/system")
    unit = fresh.read_bytes("/usr/lib/systemd/system/serial-getty@.service")
    fresh.write_atomic("/mnt/guest/usr/lib/systemd/system/serial-getty@.service", unit)
    result = run(fresh, "systemctl", "--root", "/mnt/guest", "enable", "serial-getty@hvc0.service")
    assert result.ok, result.stderr
    link = "etc/systemd/system/getty.target.wants/serial-getty@hvc0.service"
    assert f"Created symlink '/mnt/guest/{link}'" in result.stderr
    assert "is added as a dependency to a non-existent unit getty.target" in result.stderr
    assert os.path.islink(os.path.join(fresh.root, "mnt/guest", link))
    assert not os.path.lexists(os.path.join(fresh.root, link))


def test_is_active_follows_the_boot(fresh):
    assert run(fresh, "systemctl", "enable", *XEN_UNITS).ok
    result = run(fresh, "systemctl", "is-active", "xenstored", "systemd-networkd")
    assert result.stdout.split() == ["inactive", "active"]  # enabled, but not started before the next boot
    reboot(fresh)
    assert run(fresh, "systemctl", "is-active", *XEN_UNITS).stdout.split() == ["active"] * 5
    fresh.remove("/usr/lib/xen/bin/qemu-system-i386")  # xen-qemu removed: the qdisk backend cannot start
    assert run(fresh, "systemctl", "is-active", "xen-qemu-dom0-disk-backend").stdout == "failed\n"
    run(fresh, "grub-reboot", "Arch Linux")  # one boot without Xen: the units' condition does not hold
    assert not reboot(fresh)["xen"]
    result = run(fresh, "systemctl", "is-active", "xenstored", "xenconsoled")
    assert result.stdout.split() == ["inactive", "inactive"] and result.returncode == 3


# the reboot

def test_reboot_into_xen_on_bios_grub2(dom0):
    state = dom0.load_state()
    x = state["running"]["xen"]
    assert x["cmdline"].startswith("placeholder dom0_mem=2048M,max:2048M")
    assert (x["dom0_mem_mib"], x["dom0_max_mib"], x["dom0_vcpus"]) == (2048, 2048, 2)
    assert state["last_boot"] == {"xen": True, "entry": "Arch Linux (linux), with Xen hypervisor",
                                  "booted": "Arch Linux (linux), with Xen hypervisor", "why": ""}
    assert dom0.read_text("/sys/hypervisor/type") == "xen\n"
    assert dom0.read_text("/proc/xen/capabilities") == "control_d\n"
    assert dom0.read_text("/proc/cmdline").startswith("placeholder root=UUID=56c87129-9ea7-46fb-a724-039e34e14b29 rw")
    assert xen_state(dom0).dom0
    assert "hypervisor" in dom0.read_text("/proc/cpuinfo") and " vmx " not in dom0.read_text("/proc/cpuinfo")
    log = dom0.read_text("/var/log/xenbook-sample-boot.log")
    assert log.startswith("[simulated] boot 1 ") and "started Xen 4.21" in log
    first = dom0.read_text("/proc/sys/kernel/random/boot_id")
    reboot(dom0)
    assert dom0.read_text("/proc/sys/kernel/random/boot_id") != first


def test_reboot_without_xen_when_the_default_entry_is_plain_arch(tmp_path):
    host = init_sample(str(tmp_path / "h"))
    result = reboot(host)
    assert not result["xen"] and result["why"] == "the default entry 'Arch Linux' does not load Xen"
    assert host.load_state()["last_boot"]["entry"] == "Arch Linux"
    assert host.read_text("/proc/cmdline").startswith("BOOT_IMAGE=/vmlinuz-linux root=UUID=")
    assert not host.exists("/sys/hypervisor/type") and "xen" not in host.load_state()["running"]


def test_reboot_without_xen_when_a_module_is_missing(fresh):
    cfg = fresh.read_text("/boot/grub/grub.cfg")
    fresh.write_atomic("/boot/grub/grub.cfg", cfg.replace("module2\t/vmlinuz-linux", "module2\t/vmlinuz-gone").encode())
    result = reboot(fresh)
    assert not result["xen"] and result["entry"] == "Arch Linux (linux), with Xen hypervisor"
    assert result["why"].startswith("module2 /vmlinuz-gone: file not found; the simulation booted 'Arch Linux'")
    assert fresh.read_text("/proc/cmdline").startswith("BOOT_IMAGE=/vmlinuz-linux")
    fresh.write_atomic("/boot/grub/grub.cfg", cfg.encode())
    fresh.remove("/boot/xen.gz")
    assert reboot(fresh)["why"].startswith("multiboot2 /xen.gz: file not found")
    assert "[simulated]" in fresh.read_text("/var/log/xenbook-sample-boot.log")


def test_grub_reboot_is_one_time_and_a_non_dom0_kernel_keeps_xen_off(fresh):
    assert run(fresh, "grub-reboot", "Arch Linux").ok
    assert reboot(fresh)["booted"] == "Arch Linux"
    assert reboot(fresh)["xen"]  # next_entry was used up
    fresh.write_atomic("/boot/config-linux", b"CONFIG_XEN=y\n# CONFIG_XEN_DOM0 is not set\n")
    assert "lacks CONFIG_XEN_DOM0" in reboot(fresh)["why"]


def test_reboot_on_uefi_systemd_boot_and_firmware_entry(tmp_path):
    host = SampleHost(applied(tmp_path / "sd", "uefi-systemd-boot", "--set", "boot.dom0_mem=3G"))
    result = reboot(host)
    assert result["xen"] and result["xen_info"]["loader"] == "xen.efi"
    assert result["xen_info"]["cmdline"].startswith("dom0_mem=3G,max:3G") and result["xen_info"]["dom0_mem_mib"] == 3072
    assert host.read_text("/proc/cmdline").startswith("root=UUID=8d2f6b1a-3c4e-4f5a-9b6c-7d8e9f0a1b2c rw")
    host.remove("/boot/xen.cfg")
    assert "xen.efi found no usable /xen.cfg" in reboot(host)["why"]
    fw = SampleHost(applied(tmp_path / "fw", "uefi-systemd-boot", "--set", "boot.uefi_entry=efibootmgr"))
    result = reboot(fw)
    assert result["xen"] and result["entry"] == "Arch Linux with Xen (xenbook)"
    assert fw.load_state()["efi"]["boot_current"] == fw.load_state()["efi"]["boot_order"][0]


def test_reboot_on_bios_grub_legacy(tmp_path):
    host = SampleHost(applied(tmp_path / "h", "bios-grub-legacy"))
    result = reboot(host)
    assert result["xen"] and result["xen_info"]["cmdline"].startswith("dom0_mem=2048M,max:2048M")
    assert host.read_text("/proc/cmdline").startswith("root=UUID=9e4b2a6c-8d1f-4c3e-b5a7-6f2e1d0c9b8a rw")


def test_cli_reboot(fresh):
    code, out, err = cli("reboot", "--target", f"sample:{fresh.root}")
    assert code == 0 and out.startswith("[simulated] rebooted sample:") and "running Xen 4.21" in out
    code, out, err = cli("reboot", "--target", "local")
    assert code == 2 and "reboot the machine yourself" in err


# ip and the bridge

def test_ip_of_a_fresh_install(fresh):
    route = json.loads(run(fresh, "ip", "-j", "route", "show", "default").stdout)
    assert route == [{"dst": "default", "gateway": "192.168.122.1", "dev": "enp1s0", "protocol": "dhcp",
                      "prefsrc": "192.168.122.50", "metric": 1024, "flags": []}]
    links = json.loads(run(fresh, "ip", "-j", "link", "show").stdout)
    assert [x["ifname"] for x in links] == ["lo", "enp1s0"] and links[1]["address"] == "3c:ec:ef:6a:41:0e"
    assert "UP" in links[1]["flags"] and links[1]["operstate"] == "UP"
    assert run(fresh, "ip", "-j", "link", "show", "dev", "xenbr0").stderr == 'Device "xenbr0" does not exist.\n'
    assert run(fresh, "ip", "-br", "link").stdout.splitlines()[1].split()[:2] == ["enp1s0", "UP"]
    addr = json.loads(run(fresh, "ip", "-j", "address", "show", "enp1s0").stdout)[0]["addr_info"][0]
    assert (addr["local"], addr["prefixlen"], addr["broadcast"]) == ("192.168.122.50", 24, "192.168.122.255")
    assert fresh.read_text("/sys/class/net/enp1s0/address") == "3c:ec:ef:6a:41:0e\n"
    driver = os.path.join(fresh.real("/sys/class/net/enp1s0/device"), "driver")
    assert os.readlink(driver).endswith("/bus/pci/drivers/e1000e")
    assert fresh.read_text("/etc/systemd/network/20-wired.network") == "[Match]\nName=enp1s0\n\n[Network]\nDHCP=yes\n"


def test_bridge_after_reboot(dom0):
    assert dom0.load_state()["running"]["bridges"] == ["xenbr0"]
    assert dom0.stat("/sys/class/net/xenbr0/bridge").kind == "dir"
    links = {x["ifname"]: x for x in json.loads(run(dom0, "ip", "-j", "link").stdout)}
    assert links["enp1s0"]["master"] == "xenbr0" and links["xenbr0"]["operstate"] == "UP"
    assert json.loads(run(dom0, "ip", "-j", "route", "show", "default").stdout)[0]["dev"] == "xenbr0"
    assert json.loads(run(dom0, "ip", "-j", "link", "show", "type", "bridge").stdout)[0]["ifname"] == "xenbr0"
    uplink = BRIDGE["/etc/systemd/network/10-xenbr0-uplink.network"]
    dom0.remove("/etc/systemd/network/10-xenbr0-uplink.network")
    dom0.write_atomic("/etc/systemd/network/25-xenbr0-uplink.network", uplink.encode())
    reboot(dom0)  # 20-wired.network now comes first for enp1s0: it keeps its address and joins no bridge
    links = {x["ifname"]: x for x in json.loads(run(dom0, "ip", "-j", "link").stdout)}
    assert "master" not in links["enp1s0"] and "xenbr0" in links
    for path in list(BRIDGE) + ["/etc/systemd/network/25-xenbr0-uplink.network"]:
        dom0.remove(path)
    reboot(dom0)
    assert not dom0.exists("/sys/class/net/xenbr0") and dom0.load_state()["running"]["bridges"] == []


# xl and xentop

@pytest.mark.parametrize("argv", [("xl", "info"), ("xl", "list"), ("xl", "create", "/etc/xen/dom01.cfg"),
                                  ("xl", "-N", "create", "/etc/xen/dom01.cfg")])
def test_xl_fails_when_not_under_xen(fresh, argv):
    result = run(fresh, *argv)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", NOT_XEN)


def test_xl_needs_xenstored(fresh):
    reboot(fresh)  # Xen, but no unit enabled
    result = run(fresh, "xl", "list")
    assert result.returncode == 1 and result.stderr.endswith("cannot connect to xenstore: No such file or directory\n"
                                                             "cannot init xl context\n")
    assert run(fresh, "xentop", "-b", "-i", "1").stderr.endswith("Failed to initialize xenstat library\n")


def test_xl_info(dom0):
    text = run(dom0, "xl", "info").stdout
    assert text.startswith("host                   : sample-arch\nrelease                : 6.17.9-arch1-1\n")
    info = parse_xl_info(text)
    assert info.xen_version == "4.21.2-1arch" and info.nr_cpus == 8 and info.total_memory_mib == 15954
    assert info.virt_caps == "pv hvm hvm_directio pv_directio hap shadow iommu_hap_pt_share gnttab-v1 gnttab-v2".split()
    assert info.xen_commandline.startswith("placeholder dom0_mem=2048M")
    assert run(dom0, "xl", "info", "xen_commandline").stdout == info.xen_commandline + "\n"


def test_virt_caps_without_vtx(tmp_path):
    state = init_sample(str(tmp_path / "nv"), profile="no-virt").load_state()
    assert virt_caps(state) == ["pv", "shadow", "gnttab-v1", "gnttab-v2"]


def test_xl_list_domid_and_json(dom0):
    text = run(dom0, "xl", "list").stdout
    assert text.splitlines()[0] == "Name                                        ID   Mem VCPUs\tState\tTime(s)"
    assert text.splitlines()[1].startswith("Domain-0                                     0  2048     2     r-----  ")
    assert domains.parse_xl_list(text)[0] == {"name": "Domain-0", "domid": 0, "memory_mib": 2048, "vcpus": 2,
                                               "state": "running", "cpu_seconds": pytest.approx(0, abs=5),
                                               "type": None, "uptime": None}
    assert run(dom0, "xl", "domid", "Domain-0").stdout == "0\n"
    missing = run(dom0, "xl", "domid", "dom01")
    assert missing.returncode == 1 and missing.stderr == \
        "Can't get domid of domain name 'dom01', maybe this domain does not exist.\n"
    data = json.loads(run(dom0, "xl", "list", "-l").stdout)
    assert data[0]["domid"] == 0 and data[0]["config"]["c_info"] == {"type": "pv", "name": "Domain-0"}
    assert data[0]["config"]["b_info"]["target_memkb"] == 2048 * 1024
    assert domains.parse_xl_list_json(run(dom0, "xl", "list", "-l").stdout)[0]["memory_mib"] == 2048
    assert run(dom0, "xl", "list", "nosuch").stderr == "nosuch is an invalid domain identifier (rc=-6)\n"


def test_xl_create_list_destroy(dom0):
    dry = run(dom0, "xl", "create", "-n", "/etc/xen/dom01.cfg")
    assert dry.ok and dry.stderr == "Parsing config from /etc/xen/dom01.cfg\n"
    assert json.loads(dry.stdout)["c_info"]["name"] == "dom01" and run(dom0, "xl", "domid", "dom01").returncode == 1
    created = run(dom0, "xl", "create", "/etc/xen/dom01.cfg")
    assert created.ok and created.stderr == "Parsing config from /etc/xen/dom01.cfg\n"
    rows = domains.parse_xl_list(run(dom0, "xl", "list").stdout)
    assert [(r["name"], r["domid"], r["memory_mib"], r["vcpus"], r["state"]) for r in rows] == [
        ("Domain-0", 0, 2048, 2, "running"), ("dom01", 1, 1024, 2, "blocked")]
    assert run(dom0, "xl", "domid", "dom01").stdout == "1\n"
    listed = domains.parse_xl_list_json(run(dom0, "xl", "list", "-l", "dom01").stdout)
    assert listed == [{"name": "dom01", "domid": 1, "type": "pvh", "memory_mib": 1024, "max_memory_mib": 1024,
                       "vcpus": 2, "state": None, "uptime": None}]
    vifs = [x for x in json.loads(run(dom0, "ip", "-j", "link").stdout) if x["ifname"] == "vif1.0"]
    assert vifs and vifs[0]["master"] == "xenbr0"
    again = run(dom0, "xl", "create", "/etc/xen/dom01.cfg")
    assert again.returncode == 6 and 'Domain with name "dom01" already exists.' in again.stderr
    assert run(dom0, "xl", "destroy", "dom01").ok
    assert [r["name"] for r in domains.parse_xl_list(run(dom0, "xl", "list").stdout)] == ["Domain-0"]
    assert run(dom0, "xl", "create", "/etc/xen/dom01.cfg", 'kernel="/boot/nope"').returncode == 3
    assert run(dom0, "xl", "create", "/etc/xen/dom01.cfg").ok
    assert run(dom0, "xl", "domid", "dom01").stdout == "3\n"  # the failed build used up domain id 2


def test_xl_create_failures(dom0):
    missing = run(dom0, "xl", "create", "nosuch.cfg")
    assert (missing.returncode, missing.stderr) == (3, "Failed to read config file: nosuch.cfg: No such file or "
                                                       "directory\n")
    bad = run(dom0, "xl", "create", "/etc/xen/dom01.cfg", 'kernel="/boot/nope"')
    assert bad.returncode == 3 and "failed to open file '/boot/nope'" in bad.stderr
    bridge = run(dom0, "xl", "create", "/etc/xen/dom01.cfg", "vif=['bridge=xenbr9']")
    assert bridge.returncode == 3
    assert "/etc/xen/scripts/vif-bridge: Could not find bridge device xenbr9" in bridge.stderr
    big = run(dom0, "xl", "create", "/etc/xen/dom01.cfg", "memory=64000", "maxmem=64000")
    assert big.returncode == 3 and "Out of memory" in big.stderr  # xl.conf's autoballoon "auto" is off: dom0_mem
    dom0.write_atomic("/etc/xen/xl.conf", b'autoballoon="on"\n')
    assert "failed to free memory for the domain" in run(dom0, "xl", "create", "/etc/xen/dom01.cfg",
                                                          "memory=64000", "maxmem=64000").stderr
    assert run(dom0, "xl", "create", "/etc/xen/dom01.cfg", "memory=14000", "maxmem=14000").ok  # dom0 balloons
    assert dom0.load_state()["running"]["xen"]["dom0_mem_mib"] < 2048
    syntax = run(dom0, "xl", "create", "/etc/xen/dom01.cfg", "memory=")
    assert syntax.returncode == 1 and "config parsing error" in syntax.stderr
    assert "Failed to parse config: Invalid argument" in syntax.stderr
    nokernel = run(dom0, "xl", "create", "/etc/xen/dom01.cfg", 'name="x"', 'kernel=""')
    assert nokernel.returncode == 1 and nokernel.stderr.endswith("Neither kernel nor bootloader specified\n")
    noname = run(dom0, "xl", "create", "/etc/xen/dom01.cfg", 'name=""')
    assert noname.returncode == 1 and noname.stderr.endswith("Domain name must be specified.\n")


def test_xl_life_cycle(dom0):
    assert run(dom0, "xl", "create", "-p", "/etc/xen/dom01.cfg").ok
    assert domains.parse_xl_list(run(dom0, "xl", "list", "dom01").stdout)[0]["state"] == "paused"
    assert run(dom0, "xl", "unpause", "dom01").ok
    result = run(dom0, "xl", "reboot", "-w", "dom01")
    assert result.stderr == ("Rebooting domain 1\nWaiting for 1 domains\n"
                             "Domain 1 has been shut down, reason code 1\n")
    assert run(dom0, "xl", "domid", "dom01").stdout == "2\n"  # on_reboot="restart": a new domain
    assert run(dom0, "xl", "vcpu-pin", "dom01", "all", "2-3").ok
    assert run(dom0, "xl", "mem-set", "dom01", "512m").ok
    assert domains.parse_xl_list(run(dom0, "xl", "list", "dom01").stdout)[0]["memory_mib"] == 512
    assert "memory_static_max" in run(dom0, "xl", "mem-set", "dom01", "4g").stderr
    assert "[simulated]" in run(dom0, "xl", "console", "dom01").stderr
    assert run(dom0, "xl", "shutdown", "-w", "dom01").stderr.startswith("Shutting down domain 2\n")
    assert run(dom0, "xl", "domid", "dom01").returncode == 1
    assert run(dom0, "xl", "shutdown").stderr == "You must specify -a or a domain id.\n\n"
    assert run(dom0, "xl", "destroy", "0").stderr.startswith("Not destroying domain 0; use -f to force.")


def test_xl_conf_global_masks_apply_to_vcpu_pin_and_create(dom0):
    """xl ANDs hard affinities with xl.conf's vm.cpumask and fails on an empty map (xl.conf(5), xl_vcpu.c)."""
    conf = dom0.read_text("/etc/xen/xl.conf") + 'vm.cpumask="all,^0-1"\n'
    dom0.write_atomic("/etc/xen/xl.conf", conf.encode())
    assert run(dom0, "xl", "create", "/etc/xen/dom01.cfg").ok  # CPUs 2-7 are left for it
    empty = run(dom0, "xl", "vcpu-pin", "Domain-0", "all", "0-1")
    assert (empty.returncode, empty.stderr) == (1, "vcpu hard affinity map is empty\n")
    assert "pins" not in dom0.load_state()["running"]["xen"]
    for flag in ("--ignore-global-affinity-masks", "-i"):
        assert run(dom0, "xl", "vcpu-pin", flag, "Domain-0", "all", "0-1").ok
    assert dom0.load_state()["running"]["xen"]["pins"] == {"all": ["0-1"]}
    assert run(dom0, "xl", "vcpu-pin", "dom01", "0", "0").stderr == "vcpu hard affinity map is empty\n"
    assert run(dom0, "xl", "vcpu-pin", "dom01", "0", "1-3").ok  # CPU 1 is masked off, 2-3 are left
    assert run(dom0, "xl", "vcpu-pin", "dom01", "0", "2-1").stderr == "Invalid pcpu range: 2-1.\n"
    assert run(dom0, "xl", "destroy", "dom01").ok
    pinned = run(dom0, "xl", "create", "/etc/xen/dom01.cfg", 'cpus="0-1"')
    assert (pinned.returncode, pinned.stderr) == (1, "Parsing config from /etc/xen/dom01.cfg\n"
                                                     "vcpu hard affinity map is empty\n")
    assert run(dom0, "xl", "-N", "create", "/etc/xen/dom01.cfg", 'cpus="0-1"').returncode == 1
    assert run(dom0, "xl", "create", "--ignore-global-affinity-masks", "/etc/xen/dom01.cfg", 'cpus="0-1"').ok


def test_a_mask_that_leaves_guests_no_cpu_fails_every_create(dom0):
    dom0.write_atomic("/etc/xen/xl.conf", b'vm.cpumask="all,^0-7"\n')  # 8 CPUs: dom0_max_vcpus=8, pinned
    result = run(dom0, "xl", "create", "/etc/xen/dom01.cfg")
    assert result.returncode == 1 and result.stderr.endswith("vcpu hard affinity map is empty\n")
    state = dom0.load_state()
    state["machine"]["cpu"]["count"] = 6  # the map has 8 bits: 6 and 7 are left, CPUs Xen does not have
    dom0.save_state(state)
    dom0.write_atomic("/etc/xen/xl.conf", b'vm.cpumask="all,^0-5"\n')
    result = run(dom0, "xl", "create", "/etc/xen/dom01.cfg")
    assert result.returncode == 3 and "Setting vcpu affinity: Invalid argument" in result.stderr
    assert "setting affinity failed on vcpu `0'" in result.stderr
    assert [d["name"] for d in domains.parse_xl_list(run(dom0, "xl", "list").stdout)] == ["Domain-0"]


def test_xendomains_starts_the_auto_guests_at_boot(dom0):
    dom0.makedirs("/etc/xen/auto")
    os.symlink("/etc/xen/dom01.cfg", os.path.join(dom0.root, "etc/xen/auto/dom01.cfg"))
    assert reboot(dom0)["autostarted"] == ["dom01"]
    assert run(dom0, "xl", "domid", "dom01").stdout == "1\n"


def test_xendomains_saves_guests_at_shutdown_and_restores_them_at_boot(dom0):
    """Xen's sysconfig.xendomains: XENDOMAINS_SAVE=/var/lib/xen/save and XENDOMAINS_RESTORE=true."""
    assert 'XENDOMAINS_SAVE=/var/lib/xen/save' in dom0.read_text("/etc/conf.d/xendomains")
    assert run(dom0, "xl", "create", "/etc/xen/dom01.cfg").ok
    assert run(dom0, "xl", "mem-set", "dom01", "512m").ok
    result = reboot(dom0)
    assert result["saved"] == ["dom01"] and result["autostarted"] == ["dom01"]
    restored = domains.parse_xl_list(run(dom0, "xl", "list", "dom01").stdout)[0]
    assert restored["memory_mib"] == 512, "a restored guest resumes as it was, not booted from its config"
    assert dom0.listdir("/var/lib/xen/save") == [], "xendomains removes an image it restored"


def test_xendomains_shuts_guests_down_with_save_empty(dom0):
    conf = dom0.read_text("/etc/conf.d/xendomains") + 'XENDOMAINS_SAVE=""\n'
    dom0.write_atomic("/etc/conf.d/xendomains", conf.encode())
    assert run(dom0, "xl", "create", "/etc/xen/dom01.cfg").ok
    result = reboot(dom0)
    assert result["saved"] == [] and result["autostarted"] == []
    assert not dom0.listdir("/var/lib/xen/save")
    assert run(dom0, "xl", "domid", "dom01").returncode == 1
    dom0.makedirs("/etc/xen/auto")
    os.symlink("/etc/xen/dom01.cfg", os.path.join(dom0.root, "etc/xen/auto/dom01.cfg"))
    assert reboot(dom0)["autostarted"] == ["dom01"]
    assert domains.parse_xl_list(run(dom0, "xl", "list", "dom01").stdout)[0]["memory_mib"] == 1024  # booted afresh


def test_xentop_batch(dom0, monkeypatch):
    assert run(dom0, "xl", "create", "/etc/xen/dom01.cfg").ok
    state = dom0.load_state()
    state["running"]["booted_at"] -= 3600  # an hour of uptime
    dom0.save_state(state)
    result = run(dom0, "xentop", "-b", "-i", "2", "-d", "2")
    lines = result.stdout.splitlines()
    assert lines[0] == ("      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS "
                        "NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID")
    assert len(lines) == 6 and lines[3] == lines[0]
    first = {r["name"]: r for r in domains.parse_xentop("\n".join(lines[:3]))}
    last = {r["name"]: r for r in domains.parse_xentop(result.stdout)}
    assert first["Domain-0"]["cpu_percent"] == 0.0 and last["Domain-0"]["cpu_percent"] > 0
    assert last["Domain-0"]["cpu_seconds"] >= 100 and last["Domain-0"]["state"] == "running"
    assert last["dom01"]["memory_kib"] == 1048576 and last["dom01"]["nets"] == 1 and last["dom01"]["vbds"] == 1
    later = domains.parse_xentop(run(dom0, "xentop", "-b", "-i", "1").stdout)
    time.sleep(0)  # the load is a function of the second: CPU time never goes back
    assert {r["name"]: r["cpu_seconds"] for r in later}["Domain-0"] >= first["Domain-0"]["cpu_seconds"]
    assert run(dom0, "xentop").returncode == 1  # no terminal: batch mode only


# the parsers, on text in the formats the man pages show

XL_LIST = """\
Name                                        ID   Mem VCPUs\tState\tTime(s)
Domain-0                                     0   750     4     r-----   11794.3
win                                          1  1019     1     r-----       0.3
linux                                        2  2048     2     -b----    5624.2
"""
XENTOP = """\
      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID
  Domain-0 -----r     161513    0.0    1048576    3.1   no limit       n/a     8    0        0        0    0        0        0        0          0          0    0
     dom01 --b---         54    0.1     262144    0.8     262144       0.8     1    1       12       40    1        0      301       22      11502       1184    0
"""


def test_parse_xl_list_and_xentop():
    rows = domains.parse_xl_list(XL_LIST)
    assert [(r["name"], r["domid"], r["memory_mib"], r["vcpus"], r["state"]) for r in rows] == [
        ("Domain-0", 0, 750, 4, "running"), ("win", 1, 1019, 1, "running"), ("linux", 2, 2048, 2, "blocked")]
    assert rows[2]["cpu_seconds"] == 5624.2
    with pytest.raises(ValueError):
        domains.parse_xl_list("libxl: error: cannot init xl context\n")
    top = domains.parse_xentop(XENTOP)
    assert top[0]["max_memory_kib"] is None and top[0]["vcpus"] == 8 and top[0]["state"] == "running"
    assert (top[1]["name"], top[1]["state"], top[1]["memory_kib"], top[1]["net_rx_kib"]) == ("dom01", "blocked",
                                                                                            262144, 40)


def test_parse_xl_list_json():
    text = json.dumps([{"domid": 0, "config": {"c_info": {"type": "pv", "name": "Domain-0"},
                                               "b_info": {"max_memkb": 17179869180, "target_memkb": 1048576}}},
                       {"domid": 3, "config": {"c_info": {"type": "hvm", "name": "win"},
                                               "b_info": {"max_vcpus": 2, "max_memkb": 4194304,
                                                          "target_memkb": 4194304}}}], indent=4)
    assert domains.parse_xl_list_json(text) == [
        {"name": "Domain-0", "domid": 0, "type": "pv", "memory_mib": 1024, "max_memory_mib": 16777215,
         "vcpus": None, "state": None, "uptime": None},
        {"name": "win", "domid": 3, "type": "hvm", "memory_mib": 4096, "max_memory_mib": 4096, "vcpus": 2,
         "state": None, "uptime": None}]


def test_parse_xl_cfg():
    cfg = xlconfig.parse_xl_cfg(GUEST + "disk += [ 'target=/dev/sr0,devtype=cdrom,vdev=hdc' ]\nvcpus=4\n")
    assert cfg["name"] == "dom01" and cfg["memory"] == 1024 and cfg["vcpus"] == 4 and cfg["on_reboot"] == "restart"
    assert cfg["disk"] == ["format=raw, vdev=xvda, access=rw, target=/var/lib/xen/images/dom01.img",
                           "target=/dev/sr0,devtype=cdrom,vdev=hdc"]
    assert xlconfig.parse_xl_cfg('vif = [\n  "mac=00:16:3e:00:00:01",  # first\n  "",\n]\n')["vif"] == [
        "mac=00:16:3e:00:00:01", ""]
    with pytest.raises(ValueError, match=r"dom01.cfg:2: config parsing error near"):
        xlconfig.parse_xl_cfg('name = "x"\nmemory = = 3\n', "dom01.cfg")
    disk = xlconfig.disk_spec("phy:/dev/vg0/dom01,xvda,w")
    assert (disk["target"], disk["vdev"], disk["access"], disk["backend"]) == ("/dev/vg0/dom01", "xvda", "w", "phy")
    assert xlconfig.disk_spec("format=qcow2, vdev=xvdb, target=/srv/a,b.qcow2")["target"] == "/srv/a,b.qcow2"
    assert xlconfig.vif_spec("", "dom01", 0)["bridge"] == "xenbr0"


@pytest.mark.parametrize("cmdline, expected", [
    ("dom0_mem=2048M,max:2048M dom0_max_vcpus=2", (2048, 2048, 2)),
    ("placeholder loglvl=all", (16000 - 128, None, 8)),
    ("dom0_mem=-1G dom0_max_vcpus=1-4", (16000 - 1024, None, 4)),
    ("dom0_mem=1048576 dom0_mem=min:512M,max:1G", (1024, 1024, 8)),  # the default amount, capped by max:
    ("dom0_mem=4G,max:2G", (2048, 2048, 8)),
    ("dom0_mem=512M,min:1G", (1024, None, 8)),
    ("dom0_mem=50%", (8000, None, 8)),
])
def test_dom0_allocation(cmdline, expected):
    assert xencmdline.dom0_allocation(cmdline, 16000, 8) == expected


@pytest.mark.parametrize("seconds, short, expected", [
    (7, False, " 0:00:07"), (7, True, " 0:00"), (86400 + 3725, False, "1 day,  1:02:05"),
    (3 * 86400 + 59, True, "3 days,  0:00"),
])
def test_sample_prints_uptimes_as_xl_does(seconds, short, expected):
    from xenbook_sample.xlmanage import uptime_text
    assert uptime_text(seconds, short) == expected


def test_xl_uptime_short_drops_the_seconds(dom0):
    out = run(dom0, "xl", "uptime", "-s").stdout
    assert re.fullmatch(r" \d\d:\d\d:\d\d up +\d+:\d\d, Domain-0 \(0\)\n", out.splitlines(keepends=True)[0]), out
