"""The sample: target, as xenbook finds it through its xenbook.targets entry point: sample[:DIR], a SIMULATED Arch
machine in a directory (the per-user default one is made on first use)."""

from __future__ import annotations

import os

from xenbook.connectors.targets import Target, TargetKind
from xenbook_sample import mounts
from xenbook_sample.host import SampleHost


def default_dir() -> str:
    """The per-user directory of the default sample host."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "xenbook", "sample")


def parse(rest: str) -> Target:
    return Target("sample", os.path.abspath(os.path.expanduser(rest)) if rest else default_dir())


def open_sample(target: Target) -> SampleHost:
    """The sample host, with the mounts and unmounts a killed run left pending finished (as the kernel's are)."""
    host = SampleHost.open(target.path, renew=target.path == default_dir())
    mounts.finish(host)
    return host


TARGET = TargetKind("sample", "sample[:DIR]", parse, open_sample, simulated=True)
