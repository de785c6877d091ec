"""Stable keys across releases: a renamed block id, step (its pending marker) or managed header leaves no second
block, no orphaned marker and no config that stops being xenbook's (core/renames.py)."""

import pytest

from tests.test_runner import arch_host, statuses
from xenbook.connectors.fake import FakeHost
from xenbook.core import renames
from xenbook.core.commands import Result
from xenbook.core.renames import Renamed
from xenbook.edits import blocks
from xenbook.engine.runner import Runner
from xenbook.report.host import _steps_table
from xenbook.sections.boot.params import BootParams
from xenbook.sections.boot.steps import grub2_steps
from xenbook.sections.domu import steps as domu
from xenbook.sections.domu.params import GuestParams


@pytest.fixture(autouse=True)
def _counted(tally):
    """Each case of this file counts in the reliability tier's summary line."""
    yield
    tally["renamed-key cases"] += 1


OLD_HEADER = "# Managed by xenbook: change the guest's parameters in the runbook, not this file.\n"  # 0.1.0's


@pytest.fixture
def renamed(monkeypatch):
    """renamed(kind, old, new): this release renames old to new."""
    table: list[Renamed] = []
    monkeypatch.setattr(renames, "RENAMED", table)
    return lambda kind, old, new: table.append(Renamed(kind, old, new, "0.2.0"))


def count(text: str, block_id: str) -> int:
    return text.count(f"# BEGIN xenbook {block_id}\n")


def test_a_renamed_block_is_replaced_in_place_never_doubled(renamed):
    renamed("block", "xen", "xen-entry")
    old = "mine 1\n# BEGIN xenbook xen\nold body\n# END xenbook xen\nmine 2\n"
    new = blocks.ensure_block(old, "xen-entry", "new body\n")
    assert new == "mine 1\n# BEGIN xenbook xen-entry\nnew body\n# END xenbook xen-entry\nmine 2\n"
    assert blocks.get_block(old, "xen-entry") == "old body\n"
    assert blocks.ensure_block(new, "xen-entry", "new body\n") == new
    both = new + "# BEGIN xenbook xen\nleft by a half-done upgrade\n# END xenbook xen\n"
    assert blocks.ensure_block(both, "xen-entry", "new body\n") == new
    assert blocks.remove_block(both, "xen-entry") == "mine 1\nmine 2\n"


def test_renames_chain_and_a_step_keeps_its_subject(renamed):
    renamed("step", "GrubCfg", "GrubConfigOld")
    renamed("step", "GrubConfigOld", "GrubConfig")
    assert renames.aliases("step", "GrubConfig") == ("GrubConfigOld", "GrubCfg")
    assert renames.current("step", "GrubCfg") == "GrubConfig"
    renamed("step", "GuestCfg", "GuestConfig")
    assert renames.current("step", "GuestCfg(dom01)") == "GuestConfig(dom01)"
    renamed("block", "a", "b")
    renamed("block", "b", "a")  # a loop must not hang
    assert renames.current("block", "a") in ("a", "b") and "a" not in renames.aliases("block", "a")


def test_an_earlier_releases_pending_marker_still_regenerates_and_is_removed(renamed):
    host = arch_host()
    assert not Runner(host, dry_run=False).run(grub2_steps(BootParams())).failed
    renamed("step", "GrubCfg", "GrubConfig")
    host.files["/var/lib/xenbook/pending/GrubCfg"] = b"20261201T000000Z-abcdef\n"  # left by the earlier release
    plan = Runner(host, dry_run=True).run(grub2_steps(BootParams()))
    assert statuses(plan)["GrubConfig"] == "would-change" and "stopped before regenerating" in plan.steps[-1].reason
    done = Runner(host, dry_run=False).run(grub2_steps(BootParams()))
    assert statuses(done)["GrubConfig"] == "changed"
    assert not [p for p in host.files if p.startswith("/var/lib/xenbook/pending/")]
    again = Runner(host, dry_run=False).run(grub2_steps(BootParams()))
    assert set(statuses(again).values()) == {"ok"}


def test_a_guest_config_under_an_earlier_header_is_still_xenbooks(renamed, monkeypatch):
    monkeypatch.setattr(domu, "MANAGED", "# Managed by xenbook 0.2: set the guest in the runbook, not here.\n")
    host = FakeHost({"/etc/xen/dom01.cfg": OLD_HEADER + 'name = "dom01"\n'}, {"xl domid dom01": Result(0, "1\n")})
    step = domu.GuestNameFree(GuestParams())
    assert step.plan(host).failed, "without the registry the reworded header disowns 0.1.0's configs"
    renamed("header", OLD_HEADER, domu.MANAGED)
    assert not step.plan(host).failed
    host.files["/etc/xen/dom01.cfg"] = b"# my own\nname = 'dom01'\n"
    assert "was not written by xenbook" in step.plan(host).reason


def test_the_report_files_an_earlier_step_name_under_the_current_one(renamed):
    renamed("step", "GrubCfg", "GrubConfig")
    records = [{"kind": "run-end", "time": "t1", "steps": {"boot": {"GrubCfg": "changed"}}},
               {"kind": "run-end", "time": "t2", "steps": {"boot": {"GrubConfig": "ok"}}}]
    assert _steps_table(records, None).rows == [["boot", "GrubConfig", "ok", "t2"]]
