"""A hostile tree: a FIFO where /etc/default/grub should be. Planning and applying the boot section fail fast, naming
the path and what is there, instead of waiting forever for a writer; nothing is written in its place."""

from __future__ import annotations

import os
import signal

import pytest

from . import samples, trees

GRUB = "etc/default/grub"


class Blocked(Exception):
    pass


def _blocked(signum, frame):
    raise Blocked("still waiting after 60 seconds: a FIFO was opened for reading")


@pytest.mark.parametrize("dry_run", [True, False], ids=["plan", "apply"])
def test_a_fifo_at_etc_default_grub_fails_fast(dry_run, template, scratch, tally):
    root = samples.copy_host(template("bios-grub2", "installed"), os.path.join(scratch, "special", str(dry_run)))
    os.unlink(os.path.join(root, GRUB))
    os.mkfifo(os.path.join(root, GRUB))
    before = trees.snapshot(root, ignore=("var/lib/xenbook",))
    old = signal.signal(signal.SIGALRM, _blocked)
    signal.alarm(60)
    try:
        report = samples.apply(root, {}, ["boot"], dry_run=dry_run)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    tally["special-file cases"] += 1
    failed = [s for s in report.steps if s.status == "failed"]
    assert failed, report.summary()
    assert any(f"/{GRUB} is a FIFO" in s.reason for s in failed), [(s.name, s.reason) for s in failed]
    assert os.path.exists(os.path.join(root, GRUB)) and not os.path.isfile(os.path.join(root, GRUB))
    assert trees.snapshot(root, ignore=("var/lib/xenbook",)) == before, "the run changed the hostile tree"
