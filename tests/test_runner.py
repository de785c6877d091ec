"""The runner contract: dry runs write nothing, apply converges, validation guards, regenerations resume."""

import gzip
import json
import shutil

import pytest

from xenbook.connectors.fake import FakeHost
from xenbook.core.actions import Plan, WriteFile
from xenbook.core.commands import Result
from xenbook.core.step import FileStep, Step
from xenbook.edits.shellvars import get_vars
from xenbook.engine.runner import Runner
from xenbook.sections.boot.params import BootParams
from xenbook.sections.boot.steps import grub2_steps

FINDMNT = json.dumps({"filesystems": [
    {"target": "/", "source": "/dev/sda3", "fstype": "ext4", "uuid": "5f1c2a3e-0d5b-4c4e-9f6a-3b2d1e0c9a87"},
    {"target": "/boot", "source": "/dev/sda2", "fstype": "ext4", "uuid": "0b7d6c5a-4e3f-4a2b-8c1d-9e8f7a6b5c4d"}]})


def fake_grub_mkconfig(host: FakeHost, command) -> Result:
    """Like grub-mkconfig for these tests: the default from /etc/default/grub, then 40_custom from line 3."""
    default = get_vars(host.files["/etc/default/grub"].decode()).get("GRUB_DEFAULT", "0")
    custom = host.files["/etc/grub.d/40_custom"].decode().splitlines(keepends=True)[2:]
    host.files["/boot/grub/grub.cfg"] = f'set default="{default}"\n{"".join(custom)}'.encode()
    return Result(0, "", "Generating grub configuration file ...\ndone\n")


def arch_host(**commands) -> FakeHost:
    return FakeHost({
        "/boot/xen.gz": "xen", "/boot/vmlinuz-linux": "k", "/boot/initramfs-linux.img": "i",
        "/boot/grub/grub.cfg": "old\n", "/etc/default/grub": 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n',
        "/etc/grub.d/40_custom": "#!/bin/sh\nexec tail -n +3 $0\n",
        "/proc/config.gz": gzip.compress(b"CONFIG_XEN_DOM0=y\n", mtime=0),
    }, {"findmnt -J -l -o TARGET,SOURCE,FSTYPE,UUID": Result(0, FINDMNT),
        "grub-mkconfig": fake_grub_mkconfig, **commands}, modes={"/etc/grub.d/40_custom": 0o755})


def statuses(report):
    return {s.name: s.status for s in report.steps}


def test_dry_run_writes_nothing_and_says_what_would_change():
    host = arch_host()
    before = dict(host.files)
    report = Runner(host, dry_run=True).run(grub2_steps(BootParams()))
    assert host.files == before and not host.writes
    assert statuses(report) == {"XenImagePresent": "ok", "Dom0KernelReady": "ok", "GrubDefaults": "would-change",
                                "GrubXenEntry": "would-change", "GrubConfig": "would-change"}
    assert "inputs changed by GrubDefaults, GrubXenEntry" in report.steps[-1].reason
    assert report.steps[2].diffs[0]["diff"].startswith("--- a/etc/default/grub\n+++ b/etc/default/grub\n")


def test_apply_then_plan_is_empty_and_backups_kept():
    host = arch_host()
    first = Runner(host, dry_run=False).run(grub2_steps(BootParams()))
    assert not first.failed, first.to_json()
    assert first.count("changed") == 3
    backups = [p for p in host.files if p.startswith("/var/lib/xenbook/backups/")]
    assert sorted(p.split("/", 6)[-1] for p in backups) == ["boot/grub/grub.cfg", "etc/default/grub",
                                                             "etc/grub.d/40_custom"]
    assert not [p for p in host.files if p.startswith("/var/lib/xenbook/pending/")]
    snapshot = dict(host.files)
    second = Runner(host, dry_run=False).run(grub2_steps(BootParams()))
    assert {s.status for s in second.steps} == {"ok"}
    assert host.files == snapshot


class BadShell(FileStep):
    section, name, path, validator = "test", "BadShell", "/etc/default/grub", "shell"

    def render(self, host, old):
        return old + 'GRUB_TIMEOUT="unterminated\n'


def test_failed_validation_leaves_file_untouched():
    host = arch_host()
    before = host.files["/etc/default/grub"]
    report = Runner(host, dry_run=False).run([BadShell()])
    assert report.steps[0].status == "failed"
    assert "bash -n rejected the new /etc/default/grub" in report.steps[0].reason
    assert host.files["/etc/default/grub"] == before
    assert not [p for p in host.files if "xenbook-new" in p]


def test_failed_validation_is_caught_in_a_dry_run_too():
    report = Runner(arch_host(), dry_run=True).run([BadShell()])
    assert report.steps[0].status == "failed" and "bash -n rejected" in report.steps[0].reason


def test_interrupted_regeneration_is_redone_next_run():
    host = arch_host()

    def interrupted(h, c):
        raise KeyboardInterrupt  # the machine went down between the edits and grub-mkconfig

    host.commands["grub-mkconfig"] = interrupted
    with pytest.raises(KeyboardInterrupt):
        Runner(host, dry_run=False).run(grub2_steps(BootParams()))
    assert "/var/lib/xenbook/pending/GrubConfig" in host.files
    host.commands["grub-mkconfig"] = fake_grub_mkconfig
    plan = Runner(host, dry_run=True).run(grub2_steps(BootParams()))
    assert statuses(plan)["GrubDefaults"] == "ok" and statuses(plan)["GrubXenEntry"] == "ok"
    regen = plan.steps[-1]
    assert regen.status == "would-change"
    assert "stopped before regenerating" in regen.reason
    done = Runner(host, dry_run=False).run(grub2_steps(BootParams()))
    assert statuses(done)["GrubConfig"] == "changed"
    assert "/var/lib/xenbook/pending/GrubConfig" not in host.files


def test_failed_regeneration_keeps_marker_and_fails_clearly():
    host = arch_host(**{"grub-mkconfig": Result(1, "", "/usr/bin/grub-mkconfig: error: syntax error\n")})
    report = Runner(host, dry_run=False).run(grub2_steps(BootParams()))
    assert statuses(report)["GrubConfig"] == "failed"
    assert "grub-mkconfig -o /boot/grub/grub.cfg exited 1" in report.steps[-1].reason
    assert "/var/lib/xenbook/pending/GrubConfig" in host.files


def test_failed_check_skips_the_rest_of_its_section():
    host = arch_host()
    del host.files["/boot/xen.gz"]
    report = Runner(host, dry_run=False).run(grub2_steps(BootParams()))
    assert statuses(report)["XenImagePresent"] == "failed"
    assert {s.status for s in report.steps[1:]} == {"skipped"}
    assert not host.writes
    with pytest.raises(Exception, match="XenImagePresent"):
        report.raise_for_failures()


class Racy(Step):
    section, name = "test", "Racy"

    def plan(self, host):
        old = host.read_bytes("/etc/default/grub")
        host.files["/etc/default/grub"] = b"changed meanwhile\n"  # someone edits the file after the plan
        return Plan.change("edit", WriteFile("/etc/default/grub", old, b"new\n"))


def test_file_changed_after_planning_is_not_overwritten():
    host = arch_host()
    report = Runner(host, dry_run=False).run([Racy()])
    assert report.steps[0].status == "failed" and "changed after it was planned" in report.steps[0].reason
    assert host.files["/etc/default/grub"] == b"changed meanwhile\n"


def test_merge_facts_merges_nested_mappings_and_copies_them():
    from xenbook.engine.results import merge_facts
    role = {"pv_guest": {"role": "HVM"}}
    facts = merge_facts({}, role)
    merge_facts(facts, {"pv_guest": {"xl_cfg": ["kernel = x"]}, "xapi": {"vm_uuid": "u"}})
    assert facts == {"pv_guest": {"role": "HVM", "xl_cfg": ["kernel = x"]}, "xapi": {"vm_uuid": "u"}}
    assert role == {"pv_guest": {"role": "HVM"}}, "a step's own facts are never changed by later merges"
    merge_facts(facts, {"pv_guest": "replaced", "xapi": {"vm_uuid": None}})
    assert facts == {"pv_guest": "replaced", "xapi": {"vm_uuid": None}}


def test_two_steps_facts_under_one_key_are_both_in_the_report():
    class Fact(Step):
        def __init__(self, name: str, facts: dict):
            self.name, self.section, self.facts = name, "s", facts

        def plan(self, host):
            return Plan.check("ok", "v", "r", facts=self.facts)

    report = Runner(FakeHost(), dry_run=True).run([Fact("A", {"pv_guest": {"role": "HVM"}}),
                                                   Fact("B", {"pv_guest": {"xl_cfg": ["k"]}})])
    assert report.facts == {"pv_guest": {"role": "HVM", "xl_cfg": ["k"]}}


def _count_reads(host):
    host.reads = getattr(host, "reads", 0) + 1
    return host.reads


def test_facts_are_cached_by_function_and_read_afresh_by_every_run():
    import pytest as _pytest
    from xenbook.connectors.fake import FakeHost
    from xenbook.engine.runner import Runner
    host = FakeHost()
    assert host.fact(_count_reads) == host.fact(_count_reads) == 1  # one read per function
    with _pytest.raises(TypeError, match="module-level function"):
        host.fact(lambda h: 0)  # a lambda is a new key each time: refused rather than never cached
    Runner(host, dry_run=True).run([])
    assert host.fact(_count_reads) == 2, "a new run reads the host again"


class _Grouped:
    """A step of one guest (group) that fails or is already true."""

    def __new__(cls, name, group, fails):
        from xenbook.core.actions import Plan
        from xenbook.core.step import Step

        class One(Step):
            def plan(self, host):
                return Plan.fail("broken", "fix it") if fails else Plan.ok("fine")
        step = One()
        step.section, step.name, step.group = "domu", f"{name}({group})" if group else name, group
        return step


def test_one_guests_failure_skips_its_own_steps_not_another_guests():
    from xenbook.connectors.fake import FakeHost
    from xenbook.engine.runner import Runner
    steps = [_Grouped("GuestStorage", "a", True), _Grouped("GuestStorage", "b", False),
             _Grouped("GuestConfig", "a", False), _Grouped("GuestConfig", "b", False)]
    report = Runner(FakeHost(), dry_run=True).run(steps)
    assert [s.status for s in report.steps] == ["failed", "ok", "skipped", "ok"]
    section_wide = [_Grouped("XenRunning", "", True), _Grouped("GuestConfig", "b", False)]
    assert [s.status for s in Runner(FakeHost(), dry_run=True).run(section_wide).steps] == ["failed", "skipped"]


class GoodShell(FileStep):
    section, name, path, validator = "test", "GoodShell", "/etc/default/grub", "shell"

    def render(self, host, old):
        return old + 'GRUB_TIMEOUT="5"\n'


def hide_tools(monkeypatch, *names):
    """This machine (and so the fake and rooted hosts) without the named programs."""
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda cmd, *a, **kw: None if cmd in names else real(cmd, *a, **kw))
