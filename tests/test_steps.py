"""Data-driven step tests: given files and command results, expect these actions or this reason."""

import gzip
import json
from pathlib import Path

import pytest
import yaml

from xenbook.actions import RunCommand, WriteFile
from xenbook.commands import Result
from xenbook.hosts.fake import FakeHost
from xenbook.params import BootParams, build
from xenbook.steps.base import Regeneration
from xenbook.steps.boot import grub2_steps

HERE = Path(__file__).parent / "steps"
CASES = sorted((HERE / "cases").glob("*/*.yaml"))
FACTORIES = {"boot": lambda p: grub2_steps(build(BootParams, p))}


def mode(value) -> int:
    return value if isinstance(value, int) else int(str(value), 0)


def load_case(path: Path) -> dict:
    case = yaml.safe_load(path.read_text())
    base = yaml.safe_load((HERE / "bases" / f"{case.get('base', 'arch-bios')}.yaml").read_text())
    for key in ("files", "modes"):
        merged = dict(base.get(key) or {})
        merged.update(case.get(key) or {})
        case[key] = {k: v for k, v in merged.items() if v is not None}
    for key in ("kernel_config", "findmnt"):
        case.setdefault(key, base.get(key))
    return case


def make_host(case: dict) -> FakeHost:
    files = dict(case["files"])
    if case.get("kernel_config") is not None:
        files["/proc/config.gz"] = gzip.compress(case["kernel_config"].encode(), mtime=0)
    commands = {"findmnt -J -l -o TARGET,SOURCE,FSTYPE,UUID":
                Result(0, json.dumps({"filesystems": case["findmnt"]}))}
    for argv, answer in (case.get("commands") or {}).items():
        commands[argv] = Result(answer.get("rc", 0), answer.get("stdout", ""), answer.get("stderr", ""))
    return FakeHost(files, commands, modes={k: mode(v) for k, v in case["modes"].items()})


def find_step(case: dict, path: Path):
    steps = FACTORIES[case.get("section", "boot")](case.get("params") or {})
    return next(s for s in steps if s.name == path.parent.name)


def plan(step, host):
    return step.plan(host, None) if isinstance(step, Regeneration) else step.plan(host)


def apply_plan(host: FakeHost, p) -> None:
    for action in p.actions:
        if isinstance(action, WriteFile):
            host.makedirs(action.path.rsplit("/", 1)[0])
            host.write_atomic(action.path, action.new, mode=action.mode if action.old is None or action.set_mode
                              else None)


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_step_case(path):
    case = load_case(path)
    expect = case["expect"]
    host = make_host(case)
    step = find_step(case, path)
    p = plan(step, host)
    status = "fail" if p.failed else ("change" if p.actions else "ok")
    assert status == expect["status"], p.reason
    assert expect.get("reason", "") in p.reason
    assert expect.get("remedy", "") in p.remedy
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
    assert [a.command.display() for a in p.actions if isinstance(a, RunCommand)] == expect.get("commands", [])
    assert not host.writes, "plan() wrote to the host"
    if status == "change" and writes and not expect.get("no_converge"):
        apply_plan(host, p)
        again = plan(step, host)
        assert not again.actions and not again.failed, f"not converged: {again.reason}"


def test_every_boot_step_has_cases():
    names = {s.name for s in FACTORIES["boot"]({})}
    assert names <= {p.parent.name for p in CASES}
