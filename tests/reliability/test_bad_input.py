"""Bad input: hundreds of generated bad values, one per parameter at a time, each refused through the command line
(`xenbook apply --params FILE`) with exit code 2 and a message naming the parameter and the rule, before any host
is opened; the sample host's tree stays byte for byte the same. A guest device that backs the running system is a
valid value, refused at plan time by the guard with its rule named, and changes nothing either."""

from __future__ import annotations

import os

import pytest
import yaml
from click.testing import CliRunner

from xenbook.cli import main as cli
from xenbook.connectors import rooted
from xenbook.connectors import targets
from xenbook_sample import host as sample_host

from . import hostile, samples, trees


@pytest.fixture(scope="module")
def xen_host(template, scratch):
    return samples.copy_host(template("bios-grub2", "xen"), os.path.join(scratch, "bad-input", "host"))


@pytest.fixture
def no_host_calls(monkeypatch):
    """Any attempt to open or build a host fails the test: bad input must stop before that."""
    def tripwire(*a, **kw):
        raise AssertionError("a host was opened for bad input")
    monkeypatch.setattr(targets, "open_host", tripwire)
    monkeypatch.setattr(rooted.RootedHost, "__init__", tripwire)
    monkeypatch.setattr(sample_host.SampleHost, "open", tripwire)


def named(message: str, path: str) -> bool:
    """The message names the parameter: its dotted path, or its model's path with the field in the rule."""
    if f"parameter {path} = " in message or f"parameter {path}." in message:
        return True
    parent, _, leaf = path.rpartition(".")
    return bool(parent) and f"parameter {parent} = " in message and leaf in message.split(f"parameter {parent} = ")[1]


def refuse_all(root: str, cases: list[tuple[str, object]], folder, tally) -> list[str]:
    """Run `xenbook apply --params FILE` for each (parameter, bad value); the problems with how each was refused."""
    before = trees.snapshot(root)
    runner, problems = CliRunner(), []
    params = folder / "host.yaml"
    for path, value in cases:
        data = {"target": f"sample:{root}", **hostile.nest(path, value)}
        params.write_text(yaml.safe_dump(data, allow_unicode=True))
        result = runner.invoke(cli.main, ["apply", "--params", str(params)])
        message = result.stderr if hasattr(result, "stderr") else result.output
        shown = f"{path} = {value!r:.60}"
        if result.exit_code != 2:
            problems.append(f"{shown}: exit {result.exit_code}, not 2: {message[-300:]}{result.exception or ''}")
        elif "bad input, nothing was changed" not in message or not named(message, path):
            problems.append(f"{shown}: the message does not name the parameter: {message[:300]}")
    tally["bad inputs"] += len(cases)
    assert trees.snapshot(root) == before, "bad input changed the host"
    return problems


def test_generated_bad_values_are_refused_before_any_host_call(xen_host, tmp_path, no_host_calls, tally):
    cases = hostile.cases()
    problems = refuse_all(xen_host, cases, tmp_path, tally)
    tally["losses"] += len(problems)
    assert not problems, f"{len(problems)} of {len(cases)} bad values were not refused clearly:\n" + "\n".join(
        problems[:20])
    assert len(cases) >= 200


def test_set_overrides_are_checked_the_same_way(xen_host, no_host_calls, tally):
    runner = CliRunner()
    sets = ["boot.dom0_mem=lots", "boot.dom0_mem=-1", "boot.dom0_mem=1e99", "boot.console=vga;reboot",
            "install.build_dir=/srv/../etc", "dom0.bridge=$(reboot)", "boot.kernel=`id`", "sudo=maybe",
            "boot.loglvl=verbose", "install.jobs=-3", "preflight.min_memory_mib=lots", "nosuchparameter"]
    for pair in sets:
        result = runner.invoke(cli.main, ["apply", "--target", f"sample:{xen_host}", "--set", pair])
        message = result.stderr if hasattr(result, "stderr") else result.output
        assert result.exit_code == 2, (pair, message)
        assert "parameter " in message and "nothing was changed" in message, (pair, message)
    tally["bad inputs"] += len(sets)


# A guest device that backs the running system: a valid path, refused by the guard when the domu section plans.
SYSTEM_DEVICES = [("/dev/sda3", "backs-root"), ("/dev/sda2", "backs-boot"), ("/dev/sda", "backs-root")]


@pytest.mark.parametrize("device, rule", SYSTEM_DEVICES)
@pytest.mark.parametrize("dry_run", [True, False], ids=["plan", "apply"])
def test_the_root_disk_as_a_guest_device_is_refused_at_plan_time(device, rule, dry_run, xen_host, tally):
    before = trees.snapshot(xen_host)
    data = {"guests": [{"name": "victim", "storage": "partition", "device": device, "force": True,
                        "confirm": device}]}
    report = samples.apply(xen_host, data, ["domu"], dry_run=dry_run)
    failed = {s.name: s for s in report.failed}
    assert list(failed) == ["GuestFilesystem(victim)"], report.summary()
    reason = failed["GuestFilesystem(victim)"].reason
    assert f"[{rule}]" in reason and device in reason, reason
    assert "no parameter overrides that" in failed["GuestFilesystem(victim)"].remedy
    assert [s.status for s in report.steps if s.name.startswith(("GuestBootstrapped", "GuestConfig",
                                                                   "GuestRunning"))] == ["skipped"] * 3
    assert trees.snapshot(xen_host) == before, "a refused device changed the host"
    tally["bad inputs"] += 1


COLLIDING = [  # (the parameter named, the guests): two guests that would share a config, a MAC, a name or a disk
    ("guests.1.name", [{"name": "web"}, {"name": "web"}]), ("guests.1.name", [{"name": "web"}, {"name": "WEB"}]),
    ("guests.1.mac", [{"name": "a", "mac": "00:16:3e:00:00:01"}, {"name": "b", "mac": "00:16:3E:00:00:01"}]),
    ("guests.1.hostname", [{"name": "a", "hostname": "h"}, {"name": "b", "hostname": "h"}]),
    ("guests.1.hostname", [{"name": "a_b"}, {"name": "a-b"}]),
    ("guests.1.device", [{"name": "a", "storage": "partition", "device": "/dev/sdb1"},
                         {"name": "b", "storage": "partition", "device": "/dev/./sdb1"}]),
    ("guests.2.name", [{"name": "a", "storage": "image"}, {"name": "b"}, {"name": "A", "storage": "image"}]),
    ("guests.0.confirm", [{"name": "a", "storage": "partition", "device": "/dev/sdb1", "force": True,
                           "confirm": "/dev/sdc1"}]),
]


def test_colliding_guests_are_refused_before_any_host_call(xen_host, tmp_path, no_host_calls, tally):
    runner, params, before = CliRunner(), tmp_path / "host.yaml", trees.snapshot(xen_host)
    for name, guests in COLLIDING:
        params.write_text(yaml.safe_dump({"target": f"sample:{xen_host}", "guests": guests}))
        result = runner.invoke(cli.main, ["apply", "--params", str(params)])
        message = result.stderr if hasattr(result, "stderr") else result.output
        assert result.exit_code == 2 and named(message, name), (name, message, result.exception)
    tally["bad inputs"] += len(COLLIDING)
    assert trees.snapshot(xen_host) == before


def _bomb() -> bytes:
    text, previous = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n', "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text.encode()


HOSTILE_FILES = [_bomb(), b"target: local\ntarget: local\n", b"boot:\n  dom0_mem: 2G\n  dom0_mem: 4G\n",
                 b"boot: " + b"[" * 10000 + b"]" * 10000, b"boot: " + b"{a: " * 3000 + b"1" + b"}" * 3000,
                 "guests:\n  - name: café\n".encode("latin-1"), bytes(range(256)) * 8, b"\xff\xfe\x00t\x00",
                 b"target: local\x00", b"boot: &a [*a]\n", b"1: x\n", b"[target, local]\n", b"x" * (2 << 20)]


def test_hostile_yaml_files_exit_2_with_a_message(xen_host, tmp_path, no_host_calls, tally):
    runner, params = CliRunner(), tmp_path / "host.yaml"
    for content in HOSTILE_FILES:
        params.write_bytes(content)
        result = runner.invoke(cli.main, ["apply", "--params", str(params)])
        message = result.stderr if hasattr(result, "stderr") else result.output
        assert result.exit_code == 2 and f"parameter params = '{params}'" in message, (content[:40], message,
                                                                                      result.exception)
    tally["bad inputs"] += len(HOSTILE_FILES)
