"""boot.first_boot once: the new Xen entry boots once (grub-reboot, bootctl set-oneshot, efibootmgr --bootnext) and
becomes the default only after Xen came up as dom0; a one-time boot that fails brings the old default back, and the
dom0 section says so. Through the CLI on sample hosts, whose simulated reboot honours next_entry, LoaderEntryOneShot
and BootNext and clears them as GRUB and the firmware do."""

import json
import subprocess
import sys

import pytest

from xenbook.connectors.targets import open_host
from xenbook.core.commands import Command, Result
from xenbook.core.errors import ParameterError
from xenbook.engine.params import RunbookParams, build
from xenbook.sections.boot.firstboot import first_boot_once

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]
SECTIONS = "install,boot,dom0"


def run(*args):
    proc = subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def apply(root, *extra):
    code, out, err = run("apply", "--target", f"sample:{root}", "--sections", SECTIONS, "--json",
                         "--set", "boot.first_boot=once", *extra)
    assert "{" in out, out + err
    return code, {f"{s['section']}/{s['name']}": s for s in json.loads(out)["steps"]}


def reboot(root):
    code, out, err = run("reboot", "--target", f"sample:{root}", "--json")
    assert code == 0, out + err
    return json.loads(out[out.index("{"):])


def grubenv(root) -> str:
    return (root / "boot/grub/grubenv").read_bytes().rstrip(b"#").decode()


def efi(root) -> dict:
    return json.loads((root / ".xenbook-sample/state.json").read_text())["efi"]


@pytest.mark.parametrize("target, loader, first_boot, once", [
    ("ssh:root@xen1.example.org", "grub2", None, True),
    ("ssh:root@xen1.example.org", "uefi", "default", False),
    ("sample", "grub2", None, False),
    ("local", "uefi", "once", True),
    ("ssh:root@xen1.example.org", "grub-legacy", None, False),  # no one-time boot there: the default as elsewhere
])
def test_first_boot_defaults_to_once_over_ssh(target, loader, first_boot, once):
    params = build(RunbookParams, {"target": target, "boot": {"first_boot": first_boot}})
    assert first_boot_once(params, loader) is once


def test_once_on_grub_legacy_is_refused_naming_the_rule():
    params = build(RunbookParams, {"target": "local", "boot": {"first_boot": "once"}})
    with pytest.raises(ParameterError) as e:
        first_boot_once(params, "grub-legacy")
    assert "boot.first_boot" in str(e.value) and "savedefault --once" in str(e.value)


def test_grub2_boots_xen_once_then_makes_it_the_default(tmp_path):
    root = tmp_path / "h"
    assert run("sample", "init", str(root))[0] == 0
    code, steps = apply(root)
    assert code == 3, steps
    assert "boots once" in steps["dom0/RebootIntoXen"]["reason"]
    assert 'GRUB_DEFAULT="saved"' in (root / "etc/default/grub").read_text()
    assert "saved_entry=0\n" in grubenv(root) and "next_entry=xenbook-xen\n" in grubenv(root)
    assert reboot(root)["xen"] is True
    assert "next_entry" not in grubenv(root), "GRUB clears the one-time entry as it boots it"
    code, steps = apply(root)
    assert code == 0, steps
    assert steps["boot/GrubDefaults"]["status"] == "changed"  # the default, now that Xen came up
    assert 'GRUB_DEFAULT="xenbook-xen"' in (root / "etc/default/grub").read_text()
    assert not (root / "var/lib/xenbook/first-boot").exists()
    again = reboot(root)
    assert again["xen"] is True and again["entry"] == "Arch Linux (linux), with Xen hypervisor"
    code, steps = apply(root)
    assert code == 0 and {s["status"] for s in steps.values()} == {"ok"}, steps


def test_a_failed_one_time_boot_comes_back_on_the_old_default(tmp_path):
    root = tmp_path / "h"
    assert run("sample", "init", str(root))[0] == 0
    assert apply(root)[0] == 3
    xen = root / "boot/xen.gz"
    xen.rename(tmp_path / "xen.gz")  # the entry's hypervisor does not load: the one-time boot fails
    booted = reboot(root)
    xen.parent.joinpath("xen.gz").write_bytes((tmp_path / "xen.gz").read_bytes())
    assert booted["xen"] is False and "one-time boot" in booted["why"] and "reset" in booted["why"]
    assert "next_entry" not in grubenv(root) and "saved_entry=0\n" in grubenv(root)
    code, steps = apply(root)
    assert code == 1, steps
    assert steps["boot/GrubOneTimeBoot"]["status"] == "failed"
    assert "not armed again" in steps["boot/GrubOneTimeBoot"]["reason"]
    dom0 = steps["dom0/RebootIntoXen"]
    assert dom0["status"] == "failed" and "came back WITHOUT Xen" in dom0["reason"], dom0
    assert "xenbook doctor" in dom0["remedy"]
    assert 'GRUB_DEFAULT="saved"' in (root / "etc/default/grub").read_text(), "the old default stays"
    with open_host(f"sample:{root}") as host:  # the old default kept the machine reachable
        assert "default via" in host.run(Command.of("ip", "route")).stdout
    # a changed entry is armed again
    code, steps = apply(root, "--set", "boot.loglvl=all")
    assert steps["boot/GrubOneTimeBoot"]["status"] == "changed" and code == 3, steps
    assert "next_entry=xenbook-xen\n" in grubenv(root)


def test_systemd_boot_set_oneshot(tmp_path):
    root = tmp_path / "h"
    assert run("sample", "init", str(root), "--profile", "uefi-systemd-boot")[0] == 0
    code, steps = apply(root)
    assert code == 3 and steps["boot/SystemdBootOneTimeBoot"]["status"] == "changed", steps
    assert "default xenbook-xen.conf" not in (root / "boot/loader/loader.conf").read_text()
    var = next((root / "sys/firmware/efi/efivars").glob("LoaderEntryOneShot-*"))
    assert var.read_bytes()[4:].decode("utf-16-le") == "xenbook-xen.conf\0"
    assert reboot(root)["xen"] is True
    assert not var.exists(), "systemd-boot removes LoaderEntryOneShot as it reads it"
    assert apply(root)[0] == 0
    assert "default xenbook-xen.conf" in (root / "boot/loader/loader.conf").read_text()
    assert reboot(root)["xen"] is True


def test_firmware_bootnext(tmp_path):
    root = tmp_path / "h"
    assert run("sample", "init", str(root), "--profile", "uefi-systemd-boot")[0] == 0
    code, steps = apply(root, "--set", "boot.uefi_entry=efibootmgr")
    assert code == 3, steps
    before = efi(root)
    xen = next(n for n, e in before["entries"].items() if e["label"] == "Arch Linux with Xen (xenbook)")
    assert before["boot_next"] == xen and before["boot_order"][0] != xen, "created, not made first"
    assert reboot(root)["xen"] is True
    assert "boot_next" not in efi(root), "the firmware clears BootNext"
    code, steps = apply(root, "--set", "boot.uefi_entry=efibootmgr")
    assert code == 0 and steps["boot/FirmwareXenFirst"]["status"] == "changed", steps
    assert efi(root)["boot_order"][0] == xen
    assert reboot(root)["xen"] is True


@pytest.mark.parametrize("argv, code, stderr", [
    (("efibootmgr", "--bootnext", "1F"), 12, "efibootmgr: Boot entry 1F does not exist\n"),  # efibootmgr.c's errx
    (("bootctl", "set-oneshot", "xenbook-xen.conf"), 1, "Failed to set EFI variable"),  # efivarfs not mounted
])
def test_sample_refuses_what_the_real_tools_refuse(tmp_path, argv, code, stderr):
    root = tmp_path / "h"
    assert run("sample", "init", str(root), "--profile", "uefi-systemd-boot")[0] == 0
    if argv[0] == "bootctl":
        for var in (root / "sys/firmware/efi/efivars").iterdir():
            var.unlink()
        (root / "sys/firmware/efi/efivars").rmdir()
    with open_host(f"sample:{root}") as host:
        result = host.run(Command.of(*argv))
    assert result.returncode == code and result.stderr.startswith(stderr), result


def test_once_refuses_when_the_old_default_is_the_xen_entry_itself(tmp_path):
    root = tmp_path / "h"
    assert run("sample", "init", str(root))[0] == 0
    defaults = root / "etc/default/grub"
    defaults.write_text(defaults.read_text().replace("GRUB_DEFAULT=0", "GRUB_DEFAULT=xenbook-xen"))
    code, steps = apply(root)
    step = steps["boot/GrubOneTimeBoot"]
    assert code == 1 and step["status"] == "failed" and "another default entry" in step["reason"], step
    assert "next_entry" not in grubenv(root)


GRUB_FILES = {"/etc/default/grub": "GRUB_DEFAULT=0\n", "/etc/grub.d/40_custom": "#!/bin/sh\n",
              "/boot/grub/grubenv": "# GRUB Environment Block\n".ljust(1024, "#")}


@pytest.mark.parametrize("abstraction, armed", [("\n", True), ("lvm\n", False), ("diskfilter mdraid1x\n", False),
                                                 ("cryptodisk luks\n", True)])
def test_grub_one_time_boot_refuses_an_environment_block_grub_cannot_write(abstraction, armed):
    """grub-reboot warns that GRUB cannot clear next_entry on LVM or RAID (diskfilter): the one-time entry would
    stay the default, so xenbook refuses there, as the script's own check names them."""
    from xenbook.connectors.fake import FakeHost
    from xenbook.engine.runner import Runner
    from xenbook.sections.boot.firstboot import GrubOneTimeBoot
    host = FakeHost(GRUB_FILES, commands={
        "grub-probe --target=abstraction /boot/grub/grubenv": Result(0, abstraction, ""),
        "grub-set-default 0": Result(0, "", ""), "grub-reboot xenbook-xen": Result(0, "", "")})
    report = Runner(host, dry_run=True).run([GrubOneTimeBoot("/etc/default/grub", "/etc/grub.d/40_custom")])
    step = report.steps[0]
    if armed:
        assert step.status == "would-change", step
        assert [c for c in step.commands] == ["grub-set-default 0", "grub-reboot xenbook-xen"], step.commands
    else:
        assert step.status == "failed" and "cannot write its environment block" in step.reason, step
        assert "boot.first_boot" in step.remedy


def test_systemd_boot_failed_one_time_boot_comes_back_on_the_arch_entry(tmp_path):
    root = tmp_path / "h"
    assert run("sample", "init", str(root), "--profile", "uefi-systemd-boot")[0] == 0
    assert apply(root)[0] == 3
    cfg = root / "boot/xen.cfg"
    good = cfg.read_bytes()
    cfg.write_bytes(good.replace(b"kernel=", b"kernal="))  # xen.efi finds no dom0 kernel: the one-time boot fails
    booted = reboot(root)
    assert booted["xen"] is False and "one-time boot" in booted["why"], booted
    assert not list((root / "sys/firmware/efi/efivars").glob("LoaderEntryOneShot-*"))
    code, steps = apply(root)  # xen.cfg written back as it was armed: the same entry, not armed again
    assert cfg.read_bytes() == good
    assert code == 1 and steps["boot/SystemdBootOneTimeBoot"]["status"] == "failed", steps
    assert "came back WITHOUT Xen" in steps["dom0/RebootIntoXen"]["reason"]
    assert "default xenbook-xen.conf" not in (root / "boot/loader/loader.conf").read_text()
