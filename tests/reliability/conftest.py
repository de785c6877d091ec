"""The reliability tier: shared sample hosts, a worker pool, and the tally printed at the end of the run.

Each test adds what it tried to TALLY (kill points, bad inputs, guard cases, idempotency examples, ...) and every
loss it found; a loss also fails the test that found it. pytest_terminal_summary prints one line from the tally."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import pytest

from . import faults, samples

TALLY: Counter = Counter()
WORKERS = max(2, min(4, os.cpu_count() or 2))


def pytest_terminal_summary(terminalreporter):
    if not any(TALLY.values()):
        return
    line = (f"reliability: {TALLY['kill points']} kill points, {TALLY['event kill points']} event kill points, "
            f"{TALLY['bad inputs']} bad inputs, "
            f"{TALLY['guard cases']} guard cases, {TALLY['losses']} losses")
    extra = [f"{TALLY[k]} {k}" for k in ("idempotent runs", "true kills", "argv checks", "concurrent runs",
                                         "mode checks", "special-file cases", "fsync orderings", "fsyncs left out",
                                         "host-file cases", "prune cases", "renamed-key cases", "upgrades",
                                         "validation cases", "ledger and lock cases", "report escapes",
                                         "program-failure cases")
             if TALLY[k]]
    if TALLY["hostile links"]:
        extra.append(f"{TALLY['hostile links']} hostile links, {TALLY['escapes']} escapes")
    terminalreporter.write_line(line + (f" ({', '.join(extra)})" if extra else ""))


@pytest.fixture(scope="session")
def tally() -> Counter:
    return TALLY


@pytest.fixture(scope="session")
def scratch():
    """A private folder for this session's sample hosts (in memory when possible), removed at the end."""
    base = samples.scratch_base()
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pool():
    """Worker processes (forked, with the simulated programs' clock frozen) for the crash checks."""
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("fork"),
                             initializer=faults.freeze_sample_clock) as executor:
        yield executor


_TEMPLATES: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="session")
def template(scratch):
    """template(profile, stage) -> a sample host folder at that stage (made once, with the clock frozen);
    copy it before changing it."""
    def get(profile: str, stage: str) -> str:
        key = (profile, stage)
        if key not in _TEMPLATES:
            with faults.frozen_sample_clock():
                _TEMPLATES[key] = samples.make(os.path.join(scratch, "templates", f"{profile}-{stage}"), profile,
                                               stage)
        return _TEMPLATES[key]
    return get
