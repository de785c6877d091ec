"""Data-driven step tests: given files and command results, expect these actions and this reason.

A case (merged over its base) answers every command its step runs under `commands:`; a program or argv listed
under `absent:` is not installed and answers 127. Any other command fails the case, and every case names a part of
the reason its plan gives (`expect.reason`)."""

import gzip
import importlib
import json
import pkgutil
from pathlib import Path

import pytest
import yaml

import xenbook
from xenbook.connectors.fake import FakeHost, UnansweredCommand
from xenbook.core.actions import Deferred, RemoveFile, WriteFile
from xenbook.core.commands import Command, Result
from xenbook.core.errors import HostError
from xenbook.core.step import Step
from xenbook.engine.params import RunbookParams, build
from xenbook.sections.boot.legacy import legacy_steps
from xenbook.sections.boot.params import BootParams
from xenbook.sections.boot.paths import boot_steps
from xenbook.sections.boot.steps import grub2_steps
from xenbook.sections.boot.uefi import uefi_steps
from xenbook.sections.dom0.steps import dom0_steps
from xenbook.sections.domu.steps import domu_steps
from xenbook.sections.install.aur import AurPackageInstalled
from xenbook.sections.install.params import InstallParams
from xenbook.sections.install.steps import install_steps
from xenbook.sections.manage.steps import manage_steps
from xenbook.sections.preflight.steps import preflight_steps
from xenbook.sections.pv_guest.steps import pv_guest_steps
from xenbook.steps.system import UnitEnabled

HERE = Path(__file__).parent / "steps"
CASES = sorted((HERE / "cases").glob("*/*.yaml"))
FACTORIES = {"boot": lambda p, host: boot_steps(build(RunbookParams, {"boot": p}), host),
             "preflight": lambda p, host: preflight_steps(build(RunbookParams, {"preflight": p}), host),
             "install": lambda p, host: install_steps(build(RunbookParams, {"install": p}), host),
             "dom0": lambda p, host: dom0_steps(build(RunbookParams, p), host),
             "domu": lambda p, host: domu_steps(build(RunbookParams, {"guests": [p]}), host),
             "pv-guest": lambda p, host: pv_guest_steps(build(RunbookParams, {"pv_guest": p}), host),
             "manage": lambda p, host: manage_steps(build(RunbookParams, {"manage": p}), host)}


def mode(value) -> int:
    return value if isinstance(value, int) else int(str(value), 0)


def load_case(path: Path) -> dict:
    case = yaml.safe_load(path.read_text())
    base = yaml.safe_load((HERE / "bases" / f"{case.get('base', 'arch-bios')}.yaml").read_text())
    for key in ("files", "modes", "commands"):
        merged = dict(base.get(key) or {})
        merged.update(case.get(key) or {})
        case[key] = {k: v for k, v in merged.items() if v is not None}
    for key in ("kernel_config", "findmnt"):
        case.setdefault(key, base.get(key))
    case["absent"] = sorted(set(base.get("absent") or []) | set(case.get("absent") or []))  # not installed: 127
    return case


def make_host(case: dict) -> FakeHost:
    files = dict(case["files"])
    if case.get("kernel_config") is not None:
        files["/proc/config.gz"] = gzip.compress(case["kernel_config"].encode(), mtime=0)
    commands = {"findmnt -J -l -o TARGET,SOURCE,FSTYPE,UUID":
                Result(0, json.dumps({"filesystems": case["findmnt"]}))}
    for argv, answer in (case.get("commands") or {}).items():
        commands[argv] = Result(answer.get("rc", 0), answer.get("stdout", ""), answer.get("stderr", ""))
    return FakeHost(files, commands, modes={k: mode(v) for k, v in case["modes"].items()},
                    target=case.get("target", "fake"), absent=case["absent"])


def find_step(case: dict, path: Path, host):
    steps = FACTORIES[case.get("section", "boot")](case.get("params") or {}, host)
    return next(s for s in steps if s.name == case.get("step", path.parent.name))  # step: for named instances


def plan(step, host):
    return step.plan(host)


def expand(actions, host):
    """The actions with each Deferred replaced by what it expands to (reading the fake host's answers)."""
    return [b for a in actions for b in (expand(a.expand(host), host) if isinstance(a, Deferred) else [a])]


def apply_plan(host: FakeHost, p) -> None:
    for action in p.actions:
        if isinstance(action, WriteFile):
            host.makedirs(action.path.rsplit("/", 1)[0])
            host.write_atomic(action.path, action.new, mode=action.mode if action.old is None or action.set_mode
                              else None)
        elif isinstance(action, RemoveFile):
            host.remove(action.path)


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_step_case(path):
    case = load_case(path)
    expect = case["expect"]
    host = make_host(case)
    step = find_step(case, path, host)
    if expect["status"] == "error":  # the host cannot answer: plan() raises, and the runner fails the step
        with pytest.raises(HostError) as raised:
            plan(step, host)
        assert expect["reason"] in str(raised.value)
        assert expect.get("remedy", "") in getattr(raised.value, "remedy", "")
        return
    p = plan(step, host)
    status = "fail" if p.failed else ("change" if p.actions else "ok")
    assert status == expect["status"], p.reason
    assert expect["reason"] in p.reason, p.reason
    assert expect.get("remedy", "") in p.remedy
    assert expect.get("verdict", p.verdict) == p.verdict, p.reason
    assert expect.get("value", "") in p.value
    assert p.verdict in ("", "ok") or p.remedy, "a warning or blocking row says what to do"
    for key, wanted in (expect.get("facts") or {}).items():
        got = p.facts.get(key)
        assert (got == wanted if not isinstance(wanted, dict) else
                {k: (got or {}).get(k) for k in wanted} == wanted), f"facts[{key!r}] = {got!r}"
    writes = {a.path: a for a in p.actions if isinstance(a, WriteFile)}
    for file, wanted in (expect.get("writes") or {}).items():
        assert file in writes, f"no write of {file}; writes: {list(writes)}"
        text = writes[file].new.decode()
        for line in wanted.get("contains", []):
            assert line in text, f"{line!r} not in new {file}:\n{text}"
        for line in wanted.get("lacks", []):
            assert line not in text
        if "mode" in wanted:
            assert writes[file].mode == mode(wanted["mode"])
    assert [a.path for a in p.actions if isinstance(a, RemoveFile)] == expect.get("removes", [])
    assert [a.describe() for a in p.actions if not isinstance(a, (WriteFile, RemoveFile))] == expect.get("commands", [])
    if "expanded" in expect:  # commands once the deferred ones know what the earlier ones produced
        assert [a.describe() for a in expand(p.actions, host)] == expect["expanded"]
    for output, remedy in (expect.get("remedies") or {}).items():  # a failed command's output -> its remedy
        actions = expand(p.actions, host) if "expanded" in expect else p.actions
        found = [a.remedy_for(output) for a in actions if not isinstance(a, (WriteFile, Deferred))]
        assert any(remedy in f for f in found), found
    assert not host.writes, "plan() wrote to the host"
    if status == "change" and (writes or expect.get("removes")) and not expect.get("no_converge"):
        apply_plan(host, p)
        again = plan(step, host)
        assert not again.actions and not again.failed, f"not converged: {again.reason}"


def test_every_case_asserts_a_reason():
    """A case that checks only the status passes whatever the step says (an empty reason is in every reason)."""
    silent = [f"{p.parent.name}/{p.stem}" for p in CASES if not str(load_case(p)["expect"].get("reason") or "").strip()]
    assert not silent, f"cases without expect.reason: {silent}"


def test_fake_host_raises_on_a_command_nobody_answered():
    host = FakeHost({}, {"xl info": Result(0, "xen_major : 4\n")})
    assert host.run(Command.of("xl", "info")).ok
    with pytest.raises(UnansweredCommand, match="'mountpoint -q /mnt'"):
        host.run(Command.of("mountpoint", "-q", "/mnt"))


def test_fake_host_answers_an_absent_command_like_a_shell():
    host = FakeHost({}, {}, absent=["iptables", "pacman -T git"])
    assert host.run(Command.of("iptables", "-S", "FORWARD")).returncode == 127
    assert host.run(Command.of("pacman", "-T", "git")).returncode == 127
    with pytest.raises(UnansweredCommand):
        host.run(Command.of("pacman", "-T", "base-devel"))


def test_a_case_lists_commands_as_absent():
    case = load_case(HERE / "cases" / "BridgedTrafficFiltered" / "no-iptables.yaml")
    assert "iptables" in case["absent"]
    assert make_host(case).run(Command.of("iptables", "-S", "FORWARD")).returncode == 127


def test_every_boot_step_has_cases():
    every = BootParams(uefi_entry="efibootmgr")
    names = {s.name for s in grub2_steps(BootParams()) + legacy_steps(BootParams()) + uefi_steps(BootParams())
             + uefi_steps(every)}
    assert names <= {p.parent.name for p in CASES}


def test_every_preflight_step_has_cases():
    steps = FACTORIES["preflight"]({}, None)
    assert {s.name for s in steps} <= {p.parent.name for p in CASES}
    assert all(s.section == "preflight" for s in steps)


def test_every_install_step_has_cases():
    steps = FACTORIES["install"]({"xen_edk2": True, "xen_grub_pvh": True}, None)
    assert {type(s).__name__ for s in steps} <= {p.parent.name for p in CASES}
    assert all(s.section == "install" for s in steps)


# Step names are the ledger's and the reports' keys: a name that is not the class's is a stable name on purpose.
SHARED_NAMES = {"XenBridgeNM": "XenBridge", "XenBridgeNetctl": "XenBridge"}  # one bridge step, whatever configures it


def _step_classes() -> list[type[Step]]:
    for module in pkgutil.walk_packages(xenbook.__path__, "xenbook."):
        importlib.import_module(module.name)
    found, todo = [], [Step]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return [c for c in found if c.__module__.startswith("xenbook.")]


def test_steps_are_named_from_their_class():
    names = {c.__name__: c.name for c in _step_classes()}
    assert {c: n for c, n in names.items() if n != c} == SHARED_NAMES


def test_a_step_for_one_subject_names_its_class_and_the_subject():
    assert AurPackageInstalled("xen", InstallParams()).name == "AurPackageInstalled(xen)"
    assert UnitEnabled("xenstored.service", "xen", section="dom0").name == "UnitEnabled(xenstored.service)"
    named = UnitEnabled("serial-getty@hvc0.service", "systemd", section="domu", name="SerialGettyEnabled")
    assert named.name == "SerialGettyEnabled"
