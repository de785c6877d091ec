"""dom0, the reboot, then a guest, on the sample host: each applies cleanly, and a second apply changes nothing."""

import json
import os
import subprocess
import sys

import pytest

from tests.test_cli import tree_hashes
from xenbook.core.commands import Command
from xenbook_sample import SampleHost
from xenbook_sample.guestdisks import installer_partitions, kernel_upgraded

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7xenbookTestKeyOnlyForTests admin@example"
HASH = "$6$saltsalt$Q9H1cYVb1oJQZ0H0wqXrWmW0k6vYl3b0p8dI5yqzv9M5FJm0C3s8Ff1nq2xW9yWb2vT3sQ0xY7zR4uV6aB8cD."


def run(*args, env=None):
    proc = subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def xen_host(tmp_path_factory):
    """A sample host after install, boot and dom0, rebooted into Xen."""
    d = tmp_path_factory.mktemp("dom0") / "h"
    assert run("sample", "init", str(d))[0] == 0
    code, out, err = run("apply", "--target", f"sample:{d}", "--sections", "install,boot,dom0")
    assert code == 3, out + err
    assert "reboot" in out
    marker = json.loads((d / "var/lib/xenbook/reboot-required").read_text())
    assert "not running under Xen" in marker["reason"]
    code, out, err = run("reboot", "--target", f"sample:{d}")
    assert code == 0, out + err
    return d


def test_dom0_verifies_after_the_reboot(xen_host):
    code, out, err = run("apply", "--target", f"sample:{xen_host}", "--sections", "dom0", "--json")
    assert code == 0, out + err
    steps = {s["name"]: s for s in json.loads(out)["steps"]}
    assert steps["RebootIntoXen"]["status"] == "changed"  # the reboot it recorded is done: the record goes
    assert "as dom0 with 2048 MiB" in steps["RebootIntoXen"]["reason"]
    assert not (xen_host / "var/lib/xenbook/reboot-required").exists()
    bridge = (xen_host / "etc/systemd/network/00-xenbook-xenbr0.network").read_text()
    assert "Name=xenbr0" in bridge and "DHCP=yes" in bridge
    assert 'autoballoon="off"' in (xen_host / "etc/xen/xl.conf").read_text()
    assert (xen_host / "etc/systemd/system/multi-user.target.wants/xenstored.service").is_symlink()


def test_guest_created_listed_and_converged(xen_host, tmp_path):
    params = tmp_path / "host.yaml"
    params.write_text(f"target: sample:{xen_host}\nguests:\n  - name: dom01\n    memory: 1024\n"
                      f"    ssh_key: {KEY}\n    root_password_hash_env: XENBOOK_TEST_HASH\n")
    env = {"XENBOOK_TEST_HASH": HASH}
    code, out, err = run("apply", "--params", str(params), "--sections", "domu", "--json", env=env)
    assert code == 0, out + err
    assert HASH not in out + err and "saltsalt" not in out + err
    code, out, err = run("apply", "--params", str(params), "--sections", "domu", "--json", env=env)
    assert code == 0, out + err
    assert {s["status"] for s in json.loads(out)["steps"]} == {"ok"}
    before = tree_hashes(xen_host)
    code, out, err = run("apply", "--params", str(params), "--sections", "dom0,domu", "--json", env=env)
    assert code == 0 and {s["status"] for s in json.loads(out)["steps"]} == {"ok"}, out
    assert tree_hashes(xen_host) == before, "a second apply changed the host"
    cfg = (xen_host / "etc/xen/dom01.cfg").read_text()
    assert 'type = "pvh"' in cfg and "target=/dev/vg0/dom01" in cfg and "console=hvc0" in cfg
    assert not list(xen_host.glob("var/lib/xenbook/mnt/dom01/*")), "the guest's disk was left mounted"
    volume = SampleHost.open(str(xen_host)).load_state()["volumes"]["/dev/mapper/vg0-dom01"]["id"]
    resolv = xen_host / ".xenbook-sample/volumes" / volume / "etc/resolv.conf"
    assert os.readlink(resolv) == "../run/systemd/resolve/stub-resolv.conf", "systemd-resolved's stub is not linked"


def test_guard_refuses_existing_data_and_leaves_host_alone(xen_host, tmp_path):
    params = tmp_path / "host.yaml"
    params.write_text(f"target: sample:{xen_host}\nguests:\n  - name: data\n")
    before = tree_hashes(xen_host)
    code, out, err = run("apply", "--params", str(params), "--sections", "domu", "--json")
    assert code == 1
    failed = [s for s in json.loads(out)["steps"] if s["status"] == "failed"]
    assert failed and "[has-filesystem]" in failed[0]["reason"]
    assert tree_hashes(xen_host) == before


def test_hvm_guest_gets_storage_but_no_filesystem_and_stays_ok_once_installed(xen_host, tmp_path):
    (xen_host / "var/lib/xen/isos").mkdir(parents=True, exist_ok=True)
    (xen_host / "var/lib/xen/isos/archlinux.iso").write_bytes(b"SIMULATED install medium\n")
    params = tmp_path / "host.yaml"
    params.write_text(f"target: sample:{xen_host}\nguests:\n  - name: hvm01\n    type: hvm\n    bootstrap: none\n"
                      "    iso: /var/lib/xen/isos/archlinux.iso\n    size: 8G\n")
    code, out, err = run("apply", "--params", str(params), "--sections", "domu", "--json")
    assert code == 0, out + err
    steps = {s["name"]: s for s in json.loads(out)["steps"]}
    assert steps["GuestStorage(hvm01)"]["status"] == "changed" and steps["GuestRunning(hvm01)"]["status"] == "changed"
    assert not [n for n in steps if n.startswith(("GuestFilesystem", "GuestBootstrapped"))]
    host = SampleHost.open(str(xen_host))
    assert host.run(Command.of("blkid", "-p", "-o", "export", "/dev/vg0/hvm01")).returncode == 2, "xenbook formatted it"
    installer_partitions(host, "hvm01")  # the Arch ISO's installer, run in the guest, partitions its disk
    assert "PTTYPE=gpt" in host.run(Command.of("blkid", "-p", "-o", "export", "/dev/vg0/hvm01")).stdout
    for _ in range(2):
        code, out, err = run("apply", "--params", str(params), "--sections", "domu", "--json")
        assert code == 0, out + err
        steps = json.loads(out)["steps"]
        assert {s["status"] for s in steps} == {"ok"}, out
        assert not any("force" in s["reason"] + s.get("remedy", "") for s in steps), "it offered to reformat"


def test_direct_boot_copies_follow_the_guests_kernel_refreshed_only_while_it_is_stopped(xen_host, tmp_path):
    params = tmp_path / "host.yaml"
    params.write_text(f"target: sample:{xen_host}\nguests:\n  - name: kern01\n    memory: 512\n    size: 4G\n")
    host = SampleHost.open(str(xen_host))

    def apply():
        code, out, err = run("apply", "--params", str(params), "--sections", "domu", "--json")
        assert code == 0, out + err
        return {s["name"]: s for s in json.loads(out)["steps"]}

    def files(folder):
        return [(folder / n).read_bytes() for n in ("vmlinuz-linux", "initramfs-linux.img")]

    steps = apply()
    assert steps["GuestKernelCurrent(kern01)"]["status"] == "changed"
    guest = xen_host / ".xenbook-sample/volumes" / host.load_state()["volumes"]["/dev/mapper/vg0-kern01"]["id"]
    copies = xen_host / "var/lib/xen/boot/kern01"
    assert files(copies) == files(guest / "boot")
    assert {s["status"] for s in apply().values()} == {"ok"}

    kernel_upgraded(host, "kern01", "6.18.1-arch1-1")  # pacman -Syu in the running guest
    old = files(copies)
    steps = apply()
    assert {s["status"] for s in steps.values()} == {"ok"}
    step = steps["GuestKernelCurrent(kern01)"]
    assert step["verdict"] == "warning" and "the copy refreshes when it is stopped" in step["reason"]
    assert files(copies) == old, "the copies changed under a running guest"

    assert host.run(Command.of("xl", "shutdown", "-w", "kern01")).ok
    steps = apply()
    assert steps["GuestKernelCurrent(kern01)"]["status"] == "changed"
    assert steps["GuestRunning(kern01)"]["status"] == "changed"
    assert files(copies) == files(guest / "boot") != old and b"6.18.1-arch1-1" in files(copies)[0]
    assert {s["status"] for s in apply().values()} == {"ok"}

    code, out, err = run("reboot", "--target", f"sample:{xen_host}")
    assert code == 0, out + err
    steps = apply()
    assert steps["GuestKernelCurrent(kern01)"]["status"] == "ok" and not steps["GuestKernelCurrent(kern01)"]["verdict"]
