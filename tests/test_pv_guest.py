"""The pv-guest section: converges on the arch-guest sample, prints and runs the xe commands, refuses bad input."""

import json
import shlex
from pathlib import Path

import nbformat
import pytest

from tests.test_cli import tree_hashes
from tests.test_notebooks import run_notebook
from xenbook.connectors.fake import FakeHost
from xenbook.core.commands import Command, Result
from xenbook.core.errors import ParameterError
from xenbook.engine.params import RunbookParams, build
from xenbook.engine.registry import run_sections
from xenbook.engine.runner import Runner
from xenbook.facts.xen import xen_state
from xenbook.sections.pv_guest.params import PvGuestParams, xe_commands
from xenbook.sections.pv_guest.steps import pv_guest_steps
from xenbook.sections.pv_guest.xapi import XapiBootMode
from xenbook.ui import notebook
from xenbook_sample import init_sample

UUID = "0b6e2a51-3c1d-4e8f-9a7b-5c4d3e2f1a0b"
VBD = "7c2e9a40-5b1d-4f3e-8a6c-2d9e0f1b3a57"
TO_PV = [["xe", "vm-param-set", f"uuid={UUID}", "domain-type=pv", "PV-bootloader=pygrub", "PV-args=console=hvc0"],
         ["xe", "vm-param-remove", f"uuid={UUID}", "param-name=HVM-boot-params", "param-key=order"]]
OLD_HOST_TO_PV = ["xe", "vm-param-set", f"uuid={UUID}", "HVM-boot-policy=", "PV-bootloader=pygrub",
                  "PV-args=console=hvc0"]
BOOTABLE = ["xe", "vbd-param-set", f"uuid={VBD}", "bootable=true"]
TO_HVM = [["xe", "vm-param-set", f"uuid={UUID}", "HVM-boot-policy=BIOS order", "HVM-boot-params:order=cd",
           "PV-bootloader=", "PV-args="]]


@pytest.fixture
def guest(tmp_path):
    return init_sample(str(tmp_path / "guest"), profile="arch-guest")


def test_arch_guest_profile_is_an_hvm_guest_with_the_seed_menu(guest):
    state = xen_state(guest)
    assert state.on_xen and not state.dom0
    menu = Path(guest.root, "boot/grub/menu.lst").read_text()
    assert "kernel /boot/vmlinuz-linux root=/dev/xvda1 ro\n" in menu
    steps = [s.name for s in pv_guest_steps(RunbookParams(), guest)]
    assert steps[:4] == ["GuestRole", "GuestInitramfsModules", "GuestInitramfs", "GuestMenuLstEntry"]


def test_pv_guest_applies_then_converges_on_arch_guest(guest):
    params = RunbookParams(target=guest.target)
    plan = run_sections(guest, params, ["pv-guest"], dry_run=True)
    assert not plan.failed, plan.summary()
    first = run_sections(guest, params, ["pv-guest"], dry_run=False)
    assert not first.failed, [(s.name, s.reason, s.remedy) for s in first.failed]
    changed = {s.name for s in first.steps if s.status == "changed"}
    assert {"GuestInitramfsModules", "GuestInitramfs", "GuestMenuLstEntry", "SerialGettyEnabled",
            "AurPackageInstalled(xen-guest-agent)", "UnitEnabled(xen-guest-agent.service)"} <= changed
    root = Path(guest.root)
    before = tree_hashes(root)
    again = run_sections(guest, params, ["pv-guest"], dry_run=False)
    assert {s.status for s in again.steps} == {"ok"}, [(s.name, s.status, s.reason) for s in again.steps]
    assert tree_hashes(root) == before, "a second apply changed the guest"
    menu = (root / "boot/grub/menu.lst").read_text()
    assert "kernel /boot/vmlinuz-linux root=/dev/xvda1 ro console=hvc0\n" in menu and "\ndefault 1\n" in menu
    assert "MODULES+=(xen-blkfront xen-netfront)" in (root / "etc/mkinitcpio.conf.d/xenbook-xen-guest.conf").read_text()
    assert "xen-blkfront.ko.zst" in (root / "boot/initramfs-linux.img").read_text()
    assert (root / "etc/systemd/system/getty.target.wants/serial-getty@hvc0.service").is_symlink()
    assert (root / "etc/systemd/system/multi-user.target.wants/xen-guest-agent.service").is_symlink()


def test_xe_guest_utilities_and_xenfs_when_asked(guest):
    params = build(RunbookParams, {"target": guest.target, "pv_guest": {"agent": "xe-guest-utilities", "xenfs": True}})
    report = run_sections(guest, params, ["pv-guest"], dry_run=False)
    assert not report.failed, [(s.name, s.reason) for s in report.failed]
    root = Path(guest.root)
    assert "xenfs\t/proc/xen\txenfs\tdefaults,nofail\t0 0" in (root / "etc/fstab").read_text()
    assert (root / "etc/systemd/system/multi-user.target.wants/xe-linux-distribution.service").is_symlink()
    assert {s.status for s in run_sections(guest, params, ["pv-guest"], dry_run=False).steps} == {"ok"}


def test_agent_from_a_repository_fails_with_what_to_do(guest):
    params = build(RunbookParams, {"target": guest.target, "pv_guest": {"agent_source": "repo"}})
    report = run_sections(guest, params, ["pv-guest"], dry_run=False)
    (failed,) = report.failed
    assert failed.name == "RepoPackagesWanted(xen-guest-agent)"
    assert "set agent_source aur" in failed.remedy
    assert {s.status for s in report.steps if s.name.startswith(("UnitEnabled", "GuestClock"))} == {"skipped"}


def test_xe_commands_for_both_directions():
    shown = xe_commands(UUID.upper())
    assert shown.to_pv == TO_PV and shown.to_hvm == TO_HVM
    text = repr(shown)
    assert shlex.join(TO_PV[0]) in text and shlex.join(TO_HVM[0]) in text
    assert shlex.join(OLD_HOST_TO_PV) in text, "hosts without domain-type get HVM-boot-policy="
    assert f"xe vbd-list vm-uuid={UUID} type=Disk params=uuid --minimal\n" in text
    assert "xe vbd-param-set uuid=DISK-VBD-UUID bootable=true" in text
    assert "order cd: the disk, then the CD" in text
    assert "'HVM-boot-policy=BIOS order'" in text and "XCP-ng 8.1 and later no longer support PV" in text
    assert "VM-UUID" in repr(xe_commands(None)), "a placeholder until vm_uuid is given"


@pytest.mark.parametrize("bad", ["1234", "0b6e2a51-3c1d-4e8f-9a7b", "0b6e2a51-3c1d-4e8f-9a7b-5c4d3e2f1a0bx",
                                 "'; reboot #", "0b6e2a51_3c1d_4e8f_9a7b_5c4d3e2f1a0b"])
def test_a_bad_uuid_is_refused_before_anything_runs(bad, tmp_path):
    with pytest.raises(ParameterError, match="vm_uuid"):
        xe_commands(bad)
    with pytest.raises(ParameterError, match="pv_guest.vm_uuid"):
        build(RunbookParams, {"pv_guest": {"vm_uuid": bad}})
    with pytest.raises(ParameterError, match="vm_uuid"):
        notebook.section("pv-guest", target=f"sample:{tmp_path / 'host'}", vm_uuid=bad)
    assert not (tmp_path / "host").exists()


def test_pool_master_rules():
    with pytest.raises(ParameterError, match="must be ssh"):
        build(PvGuestParams, {"pool_master": "local"})
    with pytest.raises(ParameterError, match="xe_apply needs vm_uuid and pool_master"):
        build(PvGuestParams, {"vm_uuid": UUID, "xe_apply": "pv"})


def fake_master(policy: str = "BIOS order", params: str = "order: dc; firmware: bios", domain_type: bool = True,
                bootable: str = "false") -> FakeHost:
    """A XAPI pool master whose xe keeps one VM's boot fields and its disk VBDs (a CD at userdevice 3, the disk at 0).

    Like XAPI: setting domain-type sets HVM-boot-policy ("" for pv, "BIOS order" for hvm) and the other way round;
    a host older than XenServer 7.5 has no domain-type field."""
    fields = {"HVM-boot-policy": policy, "HVM-boot-params": params, "PV-bootloader": "", "PV-args": ""}
    vbds = {VBD: {"userdevice": "0", "bootable": bootable, "type": "Disk"},
            "3f0a1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b": {"userdevice": "3", "bootable": "true", "type": "CD"},
            "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a": {"userdevice": "1", "bootable": "false", "type": "Disk"}}
    unknown = Result(1, "", "Error: Unknown field 'domain-type'\n")

    def xe(host: FakeHost, command: Command) -> Result:
        verb = command.argv[1]
        args = dict(a.split("=", 1) for a in command.argv[2:] if "=" in a)
        if verb == "vbd-list":
            if args["vm-uuid"] != UUID:
                return Result(0, "\n")
            return Result(0, ",".join(u for u, v in vbds.items() if v["type"] == args.get("type", v["type"])) + "\n")
        if verb.startswith("vbd-param-"):
            vbd = vbds.get(args.pop("uuid"))
            if vbd is None:
                return Result(1, "", "The uuid you supplied was invalid.\n")
            if verb == "vbd-param-get":
                return Result(0, vbd[args["param-name"]] + "\n")
            vbd.update(args)
            return Result(0)
        if args.pop("uuid") != UUID:
            return Result(1, "", "The uuid you supplied was invalid.\n")
        if verb == "vm-param-get":
            if args["param-name"] == "domain-type":
                kind = "pv" if fields["HVM-boot-policy"] == "" else "hvm"
                return Result(0, kind + "\n") if domain_type else unknown
            return Result(0, fields[args["param-name"]] + "\n")
        if verb == "vm-param-remove":
            kept = [p for p in fields["HVM-boot-params"].split("; ") if not p.startswith(args["param-key"] + ":")]
            fields["HVM-boot-params"] = "; ".join(kept)
            return Result(0)
        for key, value in args.items():
            if key == "domain-type":
                if not domain_type:
                    return unknown
                fields["HVM-boot-policy"] = "" if value == "pv" else "BIOS order"
            elif key.startswith("HVM-boot-params:"):
                kept = [p for p in fields["HVM-boot-params"].split("; ") if p and not p.startswith("order:")]
                fields["HVM-boot-params"] = "; ".join([f"order: {value}"] + kept)
            else:
                fields[key] = value
        return Result(0)

    master = FakeHost(commands={"xe": xe}, target="ssh:root@master")
    master.fields, master.vbds = fields, vbds
    return master


def changes(master: FakeHost) -> list[list[str]]:
    return [list(c) for c in master.calls if not c[1].endswith(("-get", "-list"))]


def test_xe_switch_runs_on_the_pool_master_and_converges():
    master = fake_master()
    p = build(PvGuestParams, {"vm_uuid": UUID, "pool_master": "ssh:root@master", "xe_apply": "pv"})
    guest_host = FakeHost()
    report = Runner(guest_host, dry_run=False).run([XapiBootMode(p, open_master=lambda target: master)])
    (step,) = report.steps
    assert step.status == "changed", step.reason
    assert changes(master) == TO_PV + [BOOTABLE], "domain-type=pv, and the disk at userdevice 0 made bootable"
    assert step.commands[0].endswith("(on ssh:root@master)")
    assert report.facts["xapi"]["to_hvm"] == TO_HVM
    assert report.facts["xapi"]["to_pv"] == TO_PV + [BOOTABLE]
    assert master.fields["HVM-boot-policy"] == "" and "order" not in master.fields["HVM-boot-params"]
    assert master.vbds[VBD]["bootable"] == "true"
    again = Runner(guest_host, dry_run=False).run([XapiBootMode(p, open_master=lambda target: master)])
    assert again.steps[0].status == "ok" and "already boots PV" in again.steps[0].reason
    back = build(PvGuestParams, {"vm_uuid": UUID, "pool_master": "ssh:root@master", "xe_apply": "hvm"})
    report = Runner(guest_host, dry_run=False).run([XapiBootMode(back, open_master=lambda target: master)])
    assert report.steps[0].status == "changed"
    assert master.fields == {"HVM-boot-policy": "BIOS order", "HVM-boot-params": "order: cd; firmware: bios",
                             "PV-bootloader": "",
                             "PV-args": ""}
    again = Runner(guest_host, dry_run=False).run([XapiBootMode(back, open_master=lambda target: master)])
    assert again.steps[0].status == "ok" and "the disk, then the CD" in again.steps[0].reason


def test_xe_switch_on_a_host_without_domain_type_empties_hvm_boot_policy():
    master = fake_master(domain_type=False, bootable="true")
    p = build(PvGuestParams, {"vm_uuid": UUID, "pool_master": "ssh:root@master", "xe_apply": "pv"})
    report = Runner(FakeHost(), dry_run=False).run([XapiBootMode(p, open_master=lambda target: master)])
    assert report.steps[0].status == "changed", report.steps[0].reason
    assert changes(master) == [OLD_HOST_TO_PV, TO_PV[1]], "an already bootable disk is left alone"
    again = Runner(FakeHost(), dry_run=False).run([XapiBootMode(p, open_master=lambda target: master)])
    assert again.steps[0].status == "ok", again.steps[0].reason


def test_xe_switch_needs_a_disk():
    master = fake_master()
    for vbd in master.vbds.values():
        vbd["type"] = "CD"
    p = build(PvGuestParams, {"vm_uuid": UUID, "pool_master": "ssh:root@master", "xe_apply": "pv"})
    report = Runner(FakeHost(), dry_run=True).run([XapiBootMode(p, open_master=lambda target: master)])
    assert report.steps[0].status == "failed" and "has no disk VBD" in report.steps[0].reason


def test_xe_switch_reports_an_unreadable_vm():
    master = fake_master()
    p = build(PvGuestParams, {"vm_uuid": "11111111-2222-3333-4444-555555555555", "pool_master": "ssh:root@master",
                              "xe_apply": "pv"})
    report = Runner(FakeHost(), dry_run=True).run([XapiBootMode(p, open_master=lambda target: master)])
    assert report.steps[0].status == "failed" and "uuid you supplied was invalid" in report.steps[0].reason


@pytest.mark.slow
def test_pv_guest_notebook_converges_on_arch_guest_and_prints_the_xe_commands(tmp_path):
    host = init_sample(str(tmp_path / "guest"), profile="arch-guest")
    first, _ = run_notebook("50-pv-guest.ipynb", tmp_path, host.target, dry_run=False, vm_uuid=UUID)
    assert not [s for s in first["steps"] if s["status"] == "failed"]
    before = tree_hashes(Path(host.root))
    again, out = run_notebook("50-pv-guest.ipynb", tmp_path, host.target, dry_run=False, vm_uuid=UUID)
    assert {s["status"] for s in again["steps"]} == {"ok"}
    assert tree_hashes(Path(host.root)) == before
    shown = json.dumps([c.get("outputs") for c in nbformat.read(out, as_version=4).cells])
    for argv in TO_PV + TO_HVM:
        assert json.dumps(shlex.join(argv))[1:-1] in shown


def test_every_pv_guest_step_has_cases():
    from tests.test_steps import CASES
    names = set()
    for loader in ("grub2", "grub-legacy", "direct"):
        for extra in ({"xenfs": True, "agent_source": "repo"}, {"agent": "xe-guest-utilities"}, {"vm_uuid": UUID}):
            params = build(RunbookParams, {"pv_guest": {"loader": loader, **extra}})
            names |= {type(s).__name__ for s in pv_guest_steps(params, FakeHost())}
    assert names <= {p.parent.name for p in CASES}, names - {p.parent.name for p in CASES}


def test_the_guest_role_fact_survives_loader_direct(guest):
    params = build(RunbookParams, {"target": guest.target, "pv_guest": {"loader": "direct"}})
    report = run_sections(guest, params, ["pv-guest"], dry_run=True)
    assert report.facts["pv_guest"]["role"] == "HVM"
    assert report.facts["pv_guest"]["xl_cfg"][2].startswith("cmdline = ")


def test_a_grub2_guest_with_microcode_gets_one_initrd_per_entry(tmp_path):
    # bios-grub2 has intel-ucode, so grub-mkconfig's entries load /intel-ucode.img before the initramfs; pygrub
    # would take both as one path. The guest's grub.cfg is regenerated with GRUB_EARLY_INITRD_LINUX_STOCK="".
    host = init_sample(str(tmp_path / "guest"), profile="bios-grub2")
    assert "\tinitrd\t/intel-ucode.img /initramfs-linux.img\n" in Path(host.root, "boot/grub/grub.cfg").read_text()
    params = build(RunbookParams, {"target": host.target, "pv_guest": {"agent": "none"}})
    plan = run_sections(host, params, ["pv-guest"], dry_run=True)
    assert not plan.failed, [(s.name, s.reason) for s in plan.failed]
    report = run_sections(host, params, ["pv-guest"], dry_run=False)
    assert not report.failed, [(s.name, s.reason, s.remedy) for s in report.failed]
    cfg = Path(host.root, "boot/grub/grub.cfg").read_text()
    assert "intel-ucode" not in cfg and "\tinitrd\t/initramfs-linux.img\n" in cfg
    assert "\t\tinitrd\t/initramfs-linux-fallback.img\n" in cfg
    assert 'GRUB_EARLY_INITRD_LINUX_STOCK=""\n' in Path(host.root, "etc/default/grub").read_text()
    (check,) = [s for s in report.steps if s.name == "PygrubDefaultEntry"]
    assert check.verdict == "ok" and "initrd /initramfs-linux.img exists" in check.reason, check.reason
    again = run_sections(host, params, ["pv-guest"], dry_run=False)
    assert {s.status for s in again.steps} == {"ok"}, [(s.name, s.status, s.reason) for s in again.steps]
