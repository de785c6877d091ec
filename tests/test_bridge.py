"""The guests' bridge on systemd-networkd: which .network file matches a link (systemd's rules), and a host that an
earlier xenbook left with xenbr0 as a port of itself is repaired, with a backup, and stays reachable."""

import json
import subprocess
import sys

import pytest
import yaml

from xenbook.connectors.targets import open_host
from xenbook.core.commands import Command
from xenbook.edits import networkd
from xenbook.sections.dom0.bridge import HEADER

# (file's [Match] lines, link name, type, mac, kind, matches) as systemd.network(5) describes [Match]
MATCHES = [
    ("Name=enp1s0", "enp1s0", "ether", "", "", True),
    ("Name=en*", "enp1s0", "ether", "", "", True),
    ("Name=en*", "xenbr0", "bridge", "", "bridge", False),
    ("Name=!en*", "xenbr0", "bridge", "", "bridge", True),
    ("Name=eth0 enp1s0", "enp1s0", "ether", "", "", True),
    ("Name=eth0\nName=\nName=wlan0", "eth0", "ether", "", "", False),  # an empty assignment resets the list
    ("Type=ether", "enp1s0", "ether", "", "", True),
    ("Type=ether", "xenbr0", "bridge", "", "bridge", False),
    ("Type=ether\nKind=!*", "enp1s0", "ether", "", "", True),  # the Arch ISO's 20-ethernet.network
    ("Type=ether\nKind=!*", "vif1.0", "ether", "", "", True),  # ... which would also take the guests' vifs
    ("MACAddress=52:54:00:12:34:56", "enp1s0", "ether", "52:54:00:12:34:56", "", True),
    ("MACAddress=52:54:00:12:34:56", "enp2s0", "ether", "52:54:00:aa:bb:cc", "", False),
    ("Driver=e1000e", "enp1s0", "ether", "", "", True),  # unknown to xenbook: taken to match, so it is reported
    ("", "anything", "ether", "", "", True),  # no conditions: every link
]


@pytest.mark.parametrize("match, name, type_, mac, kind, expected", MATCHES)
def test_network_file_matching_follows_systemd(match, name, type_, mac, kind, expected):
    sections = networkd.parse(f"[Match]\n{match}\n\n[Network]\nDHCP=yes\n")
    assert networkd.matches(sections, name, type_, mac, kind) is expected


def xenbook(*args):
    proc = subprocess.run([sys.executable, "-m", "xenbook.cli.main", *args], capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def default_route(root) -> list:
    with open_host(f"sample:{root}") as host:
        return [r["dev"] for r in json.loads(host.run(Command.of("ip", "-j", "route", "show", "default")).stdout)]


STALE = "etc/systemd/network/00-xenbook-xenbr0-xenbr0.network"  # what xenbook wrote before the fix
SELF_PORT = HEADER + "[Match]\nName=xenbr0\n\n[Network]\nBridge=xenbr0\n"


def applied_once(tmp_path):
    """(root, params file) of a sample host after install, boot and dom0 were applied (stopped for the reboot)."""
    root, params = tmp_path / "h", tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"sections": ["install", "boot", "dom0"]}))
    assert xenbook("sample", "init", str(root))[0] == 0
    assert xenbook("apply", "--target", f"sample:{root}", "--params", str(params))[0] == 3
    return root, params


@pytest.mark.slow
def test_a_host_left_with_the_bridge_as_its_own_port_is_repaired(tmp_path):
    root, params = applied_once(tmp_path)
    assert xenbook("reboot", "--target", f"sample:{root}")[0] == 0
    stale = root / STALE
    stale.write_text(SELF_PORT)
    code, out = xenbook("apply", "--target", f"sample:{root}", "--params", str(params))
    assert code == 0, out
    assert f"removes /{STALE}" in out
    assert not stale.exists()
    backups = list((root / "var/lib/xenbook/backups").glob(f"*/{STALE}"))
    assert len(backups) == 1 and "Bridge=xenbr0" in backups[0].read_text()
    code, report = xenbook("report", "--target", f"sample:{root}", "--params", str(params), "--out",
                           str(tmp_path / "r.html"))
    assert code == 0, report
    assert "00-xenbook-xenbr0-xenbr0.network" in (tmp_path / "r.md").read_text()
    for _ in range(2):
        assert xenbook("reboot", "--target", f"sample:{root}")[0] == 0
        assert default_route(root) == ["xenbr0"]
        code, out = xenbook("apply", "--target", f"sample:{root}", "--params", str(params))
        assert code == 0 and "changed" not in out, out


@pytest.mark.slow
def test_without_the_fix_the_stale_file_cuts_the_network(tmp_path):
    """The simulation reproduces the failure the fix repairs: the self-port file wins and dom0 has no route."""
    root, _params = applied_once(tmp_path)
    (root / STALE).write_text(SELF_PORT)
    assert xenbook("reboot", "--target", f"sample:{root}")[0] == 0
    assert default_route(root) == []


def need(tool):
    import os
    import shutil
    if shutil.which(tool) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is not installed: scripts/test installs it")
        pytest.skip(f"{tool} is not installed")


def test_keyfiles_are_checked_by_nmcli_offline():
    from xenbook.core.errors import ValidationFailed
    from xenbook.safety.validators import validate_bytes
    need("nmcli")
    good = b"[connection]\nid=xenbr0\nuuid=82e2d0fb-3476-5f48-953c-7d8e990b6bcc\ntype=bridge\ninterface-name=xenbr0\n"
    assert "nmcli --offline connection modify" in validate_bytes("nm-keyfile", good, "/etc/x.nmconnection")
    with pytest.raises(ValidationFailed, match="ipv4.method"):
        validate_bytes("nm-keyfile", good + b"\n[ipv4]\nmethod=bogus\n", "/etc/x.nmconnection")


def test_the_guests_conf_file_is_checked_by_networkmanager():
    from xenbook.core.errors import ValidationFailed
    from xenbook.safety.validators import validate_bytes
    need("NetworkManager")
    assert validate_bytes("nm-conf", b"[device-x]\nmatch-device=interface-name:vif*\nmanaged=0\n", "/etc/x.conf")
    with pytest.raises(ValidationFailed):
        validate_bytes("nm-conf", b"[device-x\nmanaged", "/etc/x.conf")
