"""Sample hosts for the reliability tests: made from a profile, taken through sections, copied cheaply."""

from __future__ import annotations

import os
import shutil
import tempfile

from xenbook.connectors.targets import open_host
from xenbook.engine.params import RunbookParams, build
from xenbook.engine.registry import run_sections
from xenbook.engine.results import Report
from xenbook_sample.boot import reboot
from xenbook_sample.host import init_sample
from xenbook_sample.images import copy_sparse
from xenbook_sample.profiles import PROFILES

DOM0_PROFILES = tuple(n for n, p in PROFILES.items() if p.virt == "none")  # machines that become dom0
GUEST_PROFILES = tuple(n for n, p in PROFILES.items() if p.virt != "none")  # machines that are Xen guests
LVM_PROFILES = tuple(n for n in DOM0_PROFILES if PROFILES[n].volume_groups)  # with volume group vg0
HVM_PROFILES = tuple(n for n in DOM0_PROFILES if {"vmx", "svm"} & set(PROFILES[n].cpu.flags))  # VT-x or AMD-V on
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7xenbookTestKeyOnlyForTests admin@example"
HASH = "$6$saltsalt$Q9H1cYVb1oJQZ0H0wqXrWmW0k6vYl3b0p8dI5yqzv9M5FJm0C3s8Ff1nq2xW9yWb2vT3sQ0xY7zR4uV6aB8cD."
HASH_ENV = "XENBOOK_RELIABILITY_HASH"
os.environ.setdefault(HASH_ENV, HASH)


def after_reboot(profile: str, on_xen: bool) -> list[str]:
    """The sections a host of profile runs once it rebooted (into Xen when on_xen)."""
    if profile in GUEST_PROFILES:
        return ["preflight", "pv-guest"]
    return ["preflight", "install", "boot", "dom0"] + (["domu", "manage"] if on_xen else [])


def before_reboot(profile: str) -> list[str]:
    """The sections a new host of profile runs before its reboot."""
    return after_reboot(profile, False)


def scratch_base() -> str:
    """A private folder for sample hosts, in memory (tmpfs) when the machine has one: copies and fsyncs are fast."""
    shm = "/dev/shm"
    where = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    return tempfile.mkdtemp(prefix="xenbook-reliability-", dir=where)


def copy_host(src: str, dst: str) -> str:
    """A copy of the sample host at src in dst (replacing dst), keeping links, modes and times."""
    if os.path.lexists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True, copy_function=copy_sparse)
    return dst


def params(root: str, data: dict | None = None) -> RunbookParams:
    return build(RunbookParams, {**(data or {}), "target": f"sample:{root}"})


def apply(root: str, data: dict | None, sections: list[str], *, dry_run: bool = False, wait: float = 0.0) -> Report:
    """Run sections on the sample host at root (an apply unless dry_run) and return the report."""
    with open_host(f"sample:{root}") as host:
        return run_sections(host, params(root, data), sections, dry_run=dry_run, wait=wait)


def reboot_host(root: str) -> dict:
    with open_host(f"sample:{root}") as host:
        return reboot(host)


GUEST = {"name": "web", "type": "pv"}  # the guest of stage "guests"


def make(root: str, profile: str, stage: str, data: dict | None = None) -> str:
    """A sample host of profile at root, taken to stage: fresh, installed (the install section applied), xen
    (install, boot and dom0 applied, then rebooted into Xen) or guests (xen, and the guest GUEST created)."""
    init_sample(root, profile)
    if stage in ("installed", "xen", "guests"):
        report = apply(root, data, ["install"])
        assert not report.failed, report.summary()
    if stage in ("xen", "guests"):
        report = apply(root, data, ["boot", "dom0"])
        assert not report.failed and report.reboot_required, report.summary()
        booted = reboot_host(root)
        assert booted["xen"], booted["why"]
    if stage == "guests":
        report = apply(root, {**(data or {}), "guests": [GUEST]}, ["domu"])
        assert not report.failed, report.summary()
    return root
