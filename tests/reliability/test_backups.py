"""Backups: regenerable files are not backed up, old runs' backups are pruned by policy (at the end of an apply and
by `xenbook prune`), through the lock and into the ledger, and the host report says which diffs pruning cost."""

import itertools
import json
import os

import pytest
from click.testing import CliRunner

from xenbook.cli.main import main
from xenbook.connectors.fake import FakeHost
from xenbook.connectors.rooted import ChrootHost
from xenbook.core.actions import Plan, WriteFile
from xenbook.core.errors import ParameterError
from xenbook.core.paths import BACKUP_DIR
from xenbook.core.step import Step
from xenbook.engine import ledger, lock
from xenbook.engine.backups import plan_pruning, prune_locked
from xenbook.engine.params import RunbookParams, build
from xenbook.engine.runner import Runner
from xenbook.report.host import applied_diffs
from xenbook.sections.manage.steps import DashboardSnapshot


@pytest.fixture(autouse=True)
def _counted(tally):
    """Each case of this file counts in the reliability tier's summary line."""
    yield
    tally["prune cases"] += 1


class Bump(Step):
    """Writes one more line into path on every run (so every apply replaces the file and backs it up)."""

    section = "test"

    def __init__(self, path: str, backup: bool = True):
        self.path, self.backup = path, backup

    def plan(self, host):
        old = host.read_bytes(self.path)
        return Plan.change("bump", WriteFile(self.path, old, (old or b"") + b"x\n", backup=self.backup))


RUNS = itertools.count(1)


def applies(host, n: int, keep: int | None = None, path: str = "/etc/thing") -> list[str]:
    """n applies of Bump(path), each its own run; their run ids."""
    ids = []
    for i in itertools.islice(RUNS, n):
        runner = Runner(host, dry_run=False, keep_backups=keep)
        runner.run_id = f"20260101T00{i:04d}Z-{i:06x}"  # ids sort as their start times do
        runner.journal.run_id = runner.run_id
        runner.run([Bump(path)])
        ids.append(runner.run_id)
    return ids


def folders(host) -> list[str]:
    return host.listdir(BACKUP_DIR) or []


def test_a_regenerable_file_is_replaced_without_a_backup():
    host = FakeHost({"/var/lib/xenbook/dashboard/1-cpu.png": b"\x89PNG old", "/etc/kept": b"a\n"})
    Runner(host, dry_run=False).run([Bump("/var/lib/xenbook/dashboard/1-cpu.png", backup=False), Bump("/etc/kept")])
    assert [p.split("/", 6)[-1] for p in host.files if p.startswith(BACKUP_DIR)] == ["etc/kept"]
    writes = [w for r in ledger.read_records(host) if r["kind"] == "end" for w in r["writes"]]
    assert writes[0]["before"] is None and writes[0]["regenerable"] and writes[1]["before"].endswith("/etc/kept")
    diff, why = applied_diffs(host, ledger.read_records(host))[(
        [r for r in ledger.read_records(host) if r["kind"] == "end"][0]["id"], writes[0]["path"])]
    assert diff is None and "regenerable, so its old version was not backed up" in why


def test_the_dashboard_snapshot_is_regenerable(monkeypatch):
    class Dash:
        refresh_seconds, domains = 5, []

        def collect(self, n):
            self.samples = [type("S", (), {"time": 1e12})()]

        def to_dict(self):
            return {}

    monkeypatch.setattr("xenbook.sections.manage.steps.snapshot_files", lambda dash, stamp: {"1-cpu.png": b"png"})
    params = build(RunbookParams, {"manage": {"snapshot_every": 0}}).manage
    plan = DashboardSnapshot(params, Dash()).plan(FakeHost())
    assert plan.actions and all(isinstance(a, WriteFile) and a.backup is False for a in plan.actions)


def test_an_apply_keeps_the_newest_runs_backups_and_records_what_it_pruned():
    host = FakeHost({"/etc/thing": b"0\n"})
    ids = applies(host, 5, keep=None)
    assert folders(host) == ids, "without a policy every run's backups stay"
    more = applies(host, 1, keep=3)
    assert folders(host) == ids[3:] + more
    pruned = [r for r in ledger.read_records(host) if r["kind"] == "pruned"]
    assert [(r["run"], r["keep"], r["kept"], r["removed"]) for r in pruned] == [
        (more[0], 3, 3, [f"{BACKUP_DIR}/{i}" for i in ids[:3]])]
    again = applies(host, 1, keep=3)
    assert folders(host) == ids[4:] + more + again


def test_pruning_never_removes_the_running_apply_nor_folders_it_did_not_make(tmp_path):
    root = tmp_path / "t"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    for name in ("20260101T000001Z-aaaaaa", "20260101T000002Z-bbbbbb", "notes", "20991231T000000Z-ffffff"):
        os.makedirs(root / BACKUP_DIR[1:] / name)
    host = ChrootHost(str(root))  # files under root (its commands are not used here)
    os.symlink(outside, root / BACKUP_DIR[1:] / "20260101T000000Z-000000")
    os.symlink(outside, root / BACKUP_DIR[1:] / "20260101T000001Z-aaaaaa" / "link")
    plan = plan_pruning(host, 1, current="20260101T000002Z-bbbbbb")
    assert plan.kept == [f"{BACKUP_DIR}/20260101T000002Z-bbbbbb", f"{BACKUP_DIR}/20991231T000000Z-ffffff"]
    assert plan.foreign == ["20260101T000000Z-000000", "notes"], "a link out of the tree is not a run's folder"
    prune_locked(host, 1, "20260101T000002Z-bbbbbb")
    assert sorted(os.listdir(root / BACKUP_DIR[1:])) == ["20260101T000000Z-000000", "20260101T000002Z-bbbbbb",
                                                         "20991231T000000Z-ffffff", "notes"]
    assert (outside / "precious").read_text() == "keep me", "a link is removed, never followed"
    assert not (root / lock.LOCK[1:]).exists()


@pytest.mark.parametrize("keep", [0, -1, True, "3"])
def test_a_bad_keep_fails_before_anything_is_removed(keep):
    host = FakeHost({"/etc/thing": b"0\n"})
    applies(host, 2)
    with pytest.raises(ParameterError, match="keep"):
        plan_pruning(host, keep)
    assert len(folders(host)) == 2


def test_the_report_says_which_diffs_pruning_cost():
    host = FakeHost({"/etc/thing": b"0\n"})
    applies(host, 3)
    applies(host, 1, keep=1)
    records = ledger.read_records(host)
    notes = [why for diff, why in applied_diffs(host, records).values()]
    assert sum("was pruned by run" in n for n in notes) >= 1
    assert notes[-1] == "", "the newest run's diff still comes back from its backup"


def test_the_prune_command_is_a_dry_run_unless_applied_and_takes_the_lock(tmp_path):
    target = f"sample:{tmp_path / 's'}"
    cli = CliRunner()
    assert cli.invoke(main, ["sample", "init", str(tmp_path / "s")]).exit_code == 0
    base = tmp_path / "s" / BACKUP_DIR[1:]
    names = [f"20260101T00000{i}Z-00000{i}" for i in range(4)]
    for name in names:
        os.makedirs(base / name / "etc")
        (base / name / "etc" / "f").write_text(name)
    dry = cli.invoke(main, ["prune", "--target", target, "--keep", "2"])
    assert dry.exit_code == 0, dry.output
    assert "would remove 2 backup folder(s)" in dry.output and sorted(os.listdir(base)) == names
    lock_file = tmp_path / "s" / lock.LOCK[1:]
    lock_file.write_text(json.dumps({"run": "other", "pid": 1, "host": "elsewhere"}))
    held = cli.invoke(main, ["prune", "--target", target, "--keep", "2", "--apply"])
    assert held.exit_code == 1 and "holds" in held.output and sorted(os.listdir(base)) == names
    lock_file.unlink()
    done = cli.invoke(main, ["prune", "--target", target, "--keep", "2", "--apply"])
    assert done.exit_code == 0, done.output
    assert sorted(os.listdir(base)) == names[2:] and not lock_file.exists()
    text = (tmp_path / "s" / ledger.LEDGER[1:]).read_text()
    assert '"kind": "pruned"' in text and names[0] in text
    bad = cli.invoke(main, ["prune", "--target", target, "--keep", "0"])
    assert bad.exit_code == 2 and "keep" in bad.output
