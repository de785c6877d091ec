"""The runner after a crash and against programs that raise: a program's exception is a failed step with a remedy,
and the temporary files a killed run's writes left are removed when the next apply starts."""

import json

import pytest

from xenbook.connectors.fake import FakeHost
from xenbook.core.actions import Plan, RunCommand
from xenbook.core.commands import Command, Result
from xenbook.core.step import Step
from xenbook.engine.ledger import LEDGER
from xenbook.engine.runner import Runner


@pytest.fixture(autouse=True)
def _counted(tally):
    """Each case of this file counts in the reliability tier's summary line."""
    yield
    tally["program-failure cases"] += 1


def raising(host, command) -> Result:
    raise IsADirectoryError(21, "Is a directory", "/var/lib/xenbook/mnt/dom01")


class Unmounts(Step):
    section, name = "test", "Unmounts"

    def plan(self, host):
        return Plan.change("unmount", RunCommand(Command.of("umount", "/var/lib/xenbook/mnt/dom01"), "unmount"))


class ReadsMounts(Step):
    section, name = "test", "ReadsMounts"

    def plan(self, host):
        host.run(Command.of("umount", "/var/lib/xenbook/mnt/dom01"))
        return Plan.ok("read")


class Later(Step):
    section, name = "other", "Later"

    def plan(self, host):
        return Plan.ok("still planned")


def test_a_program_that_raises_fails_its_step_with_a_remedy_and_the_run_goes_on():
    host = FakeHost({}, {"umount": raising})
    report = Runner(host, dry_run=False).run([Unmounts(), Later()])
    unmounts, later = report.steps
    assert unmounts.status == "failed" and later.status == "ok"
    assert "umount /var/lib/xenbook/mnt/dom01 raised IsADirectoryError" in unmounts.reason
    assert "/var/lib/xenbook/mnt/dom01" in unmounts.reason and "run xenbook apply again" in unmounts.remedy
    ended = [json.loads(line) for line in host.files[LEDGER].splitlines() if b'"end"' in line]
    assert ended[0]["status"] == "failed"  # the ledger closed the step: the next run does not call it interrupted


def test_a_program_that_raises_while_planning_fails_its_step_too():
    report = Runner(FakeHost({}, {"umount": raising}), dry_run=True).run([ReadsMounts(), Later()])
    assert [s.status for s in report.steps] == ["failed", "ok"]
    assert report.steps[0].reason.startswith("could not plan: ") and "run xenbook apply again" in report.steps[0].remedy


def killed_run(*paths: str) -> bytes:
    """A ledger whose last run started a step that planned to write paths, then died."""
    start = {"v": 1, "kind": "start", "run": "20260101T000000Z-dead00", "time": "2026-01-01T00:00:00Z",
             "id": "20260101T000000Z-dead00/1/1", "section": "boot", "step": "GrubDefaults",
             "diffs": [{"path": p, "sha256": "0" * 64} for p in paths], "commands": []}
    return (json.dumps(start) + "\n").encode()


def test_an_apply_starts_by_removing_the_temporary_files_of_a_killed_runs_writes():
    host = FakeHost({LEDGER: killed_run("/etc/default/grub"),
                     "/etc/default/grub": "old\n", "/etc/default/.grub.k3x9_q1z.xenbook-new": "half",
                     "/etc/default/.grub.xenbook-Ab12Cd": "half", "/etc/default/.keep": "not a temporary file",
                     "/etc/default/.grub.xenbook-new": "not one either",
                     "/var/lib/xenbook/pending/.GrubConfig.a1b2c3d4.xenbook-new": "20260101T000000Z-dead00\n",
                     "/etc/.hosts.k3x9_q1z.xenbook-new": "no interrupted step wrote here"})
    Runner(host, dry_run=True).run([Later()])
    assert "/etc/default/.grub.k3x9_q1z.xenbook-new" in host.files  # a dry run removes nothing
    report = Runner(host, dry_run=False).run([Later()])
    assert [i["step"] for i in report.interrupted] == ["GrubDefaults"]
    assert sorted(p for p in host.files if p.startswith(("/etc/", "/var/lib/xenbook/pending/"))) == [
        "/etc/.hosts.k3x9_q1z.xenbook-new", "/etc/default/.grub.xenbook-new", "/etc/default/.keep",
        "/etc/default/grub"]
