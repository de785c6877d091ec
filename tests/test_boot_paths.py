"""Every boot path on its sample profile: install, then boot; the entry is right; a second apply changes nothing."""

import json
import subprocess
import sys

import pytest

from tests.test_cli import tree_hashes

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]


def run(*args):
    proc = subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def converge(directory, profile, *extra):
    assert run("sample", "init", str(directory), "--profile", profile)[0] == 0
    target = f"sample:{directory}"
    code, out, err = run("apply", "--target", target, "--sections", "install,boot", "--json", *extra)
    assert code == 0, out + err
    first = json.loads(out)
    before = tree_hashes(directory)
    code, out, err = run("apply", "--target", target, "--sections", "install,boot", "--json", *extra)
    assert code == 0, out + err
    assert {s["status"] for s in json.loads(out)["steps"]} == {"ok"}
    assert tree_hashes(directory) == before, "a second apply changed the host"
    return first


def test_uefi_systemd_boot(tmp_path):
    report = converge(tmp_path / "h", "uefi-systemd-boot", "--set", "boot.dom0_mem=3G")
    names = {s["name"]: s["status"] for s in report["steps"] if s["section"] == "boot"}
    assert names == {"XenEfiPresent": "ok", "Dom0KernelReady": "ok", "XenEfiConfig": "changed",
                     "SystemdBootXenEntry": "changed", "SystemdBootDefault": "changed"}
    cfg = (tmp_path / "h/boot/xen.cfg").read_bytes()
    assert cfg.isascii() and b"[global]\ndefault=xenbook\n" in cfg and b"options=dom0_mem=3G,max:3G" in cfg
    assert b"kernel=vmlinuz-linux root=UUID=8d2f6b1a-3c4e-4f5a-9b6c-7d8e9f0a1b2c rw" in cfg
    # xen's post_install extracted the AMD microcode from /boot/amd-ucode.img (xen-ucode-extract.sh); xen.cfg loads it
    assert (tmp_path / "h/boot/xen-efi-amd-ucode.bin").exists() and b"\nucode=xen-efi-amd-ucode.bin\n" in cfg
    assert (tmp_path / "h/boot/loader/entries/xenbook-xen.conf").read_text().endswith("efi     /xen.efi\n")
    assert (tmp_path / "h/boot/loader/entries/arch.conf").exists(), "the Arch entry must stay"
    assert "default xenbook-xen.conf" in (tmp_path / "h/boot/loader/loader.conf").read_text()


def test_uefi_firmware_entry(tmp_path):
    converge(tmp_path / "h", "uefi-systemd-boot", "--set", "boot.uefi_entry=efibootmgr")
    state = json.loads((tmp_path / "h/.xenbook-sample/state.json").read_text())
    labels = [e["label"] for e in state["efi"]["entries"].values()]
    assert labels.count("Arch Linux with Xen (xenbook)") == 1 and "Linux Boot Manager" in labels
    first = state["efi"]["boot_order"][0]
    assert state["efi"]["entries"][first]["path"].endswith("File(\\xen.efi)")


def test_bios_grub_legacy(tmp_path):
    converge(tmp_path / "h", "bios-grub-legacy")
    menu = (tmp_path / "h/boot/grub/menu.lst").read_text()
    assert "kernel /xen.gz dom0_mem=2048M,max:2048M" in menu and "module /initramfs-linux.img" in menu
    assert "title  Arch Linux Fallback" in menu, "the Arch entries must stay"
    assert "default 2\n# END xenbook xen-default" in menu


def test_bios_grub2(tmp_path):
    converge(tmp_path / "h", "bios-grub2")
    cfg = (tmp_path / "h/boot/grub/grub.cfg").read_text()
    assert 'set default="xenbook-xen"' in cfg and "multiboot2\t/xen.gz placeholder" in cfg


def test_no_virt_preflight_says_why_and_install_still_plans(tmp_path):
    assert run("sample", "init", str(tmp_path / "h"), "--profile", "no-virt")[0] == 0
    code, out, err = run("plan", "--target", f"sample:{tmp_path / 'h'}", "--sections", "preflight,install", "--json")
    assert code == 0, err
    steps = {s["name"]: s for s in json.loads(out)["steps"]}
    cpu = steps["CpuVirtualization"]
    assert cpu["verdict"] == "blocking" and "disabled by BIOS" in cpu["reason"] and "VT-x" in cpu["remedy"]
    assert steps["MultilibEnabled"]["status"] == "would-change"
    assert "+[multilib]" in steps["MultilibEnabled"]["diffs"][0]["diff"]
    code, out, err = run("plan", "--target", f"sample:{tmp_path / 'h'}", "--sections", "preflight",
                         "--set", "preflight.require_ready=true")
    assert code == 1


@pytest.mark.parametrize("profile", ["bios-grub2", "uefi-systemd-boot", "bios-grub-legacy"])
def test_dry_run_of_a_fresh_host_does_not_fail_on_what_install_provides(tmp_path, profile):
    assert run("sample", "init", str(tmp_path / "h"), "--profile", profile)[0] == 0
    code, out, err = run("plan", "--target", f"sample:{tmp_path / 'h'}", "--sections", "install,boot", "--json")
    assert code == 0, out + err
    skipped = [s for s in json.loads(out)["steps"] if s["status"] == "skipped"]
    assert skipped and all("would be installed by" in s["reason"] for s in skipped)


def test_btrfs_subvolume_root_boots_xen_with_rootflags(tmp_path):
    """archinstall's btrfs layout (/ on @, no default subvolume): dom0 gets rootflags=subvol=@ and boots."""
    converge(tmp_path / "h", "btrfs-subvol")
    cfg = (tmp_path / "h/boot/grub/grub.cfg").read_text()
    assert ("module2\t/vmlinuz-linux placeholder root=UUID=b5d0e7a2-6c1f-4d3b-9e8a-2f7c4b1d0a93 rw rootflags=subvol=@ "
            "zswap.enabled=0 rootfstype=btrfs loglevel=3 quiet\n") in cfg
    code, out, err = run("reboot", "--target", f"sample:{tmp_path / 'h'}")
    assert code == 0 and "running Xen" in out, out + err
    assert "rootflags=subvol=@ " in (tmp_path / "h/proc/cmdline").read_text()


def test_simulated_boot_refuses_a_subvolume_root_without_rootflags(tmp_path):
    """The Xen entry as xenbook wrote it before (no rootflags): dom0's initramfs mounts btrfs's top level, finds no
    /sbin/init, and the machine comes up on the stock entry (which has rootflags) without Xen."""
    converge(tmp_path / "h", "btrfs-subvol")
    path = tmp_path / "h/boot/grub/grub.cfg"
    text = path.read_text()
    head, sep, entry = text.partition("--id xenbook-xen {")
    body, close, rest = entry.partition("\n}\n")
    path.write_text(head + sep + body.replace(" rootflags=subvol=@", "") + close + rest)
    code, out, err = run("reboot", "--target", f"sample:{tmp_path / 'h'}")
    assert code == 0 and "running without Xen" in out, out + err
    assert "dom0 did not boot: the kernel options lack rootflags=subvol=@" in out
    assert "Root device mounted successfully, but /sbin/init does not exist." in out
    assert "booted 'Arch Linux' instead" in out
    assert "rootflags=subvol=@ " in (tmp_path / "h/proc/cmdline").read_text(), "the stock entry's options"
