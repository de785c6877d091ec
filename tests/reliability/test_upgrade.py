"""An upgrade: the previous release's runbook applied to a sample host, then this one on the same host.

The previous release is a pinned commit of this repository (the layout before the layered refactor), unpacked into
a temporary folder with git archive and run from there: its own CLI (xenbook.cli) and its own sample host
(xenbook.sample), which made the host, reboots it into Xen and applies again until it converges. This release then
applies to that same tree (both simulate sample format 2, so it is carried across as it is, with no adapter). The
test finds no duplicated managed block, no file and no block lost, no orphaned pending marker, and a second apply
of this release reports every step ok."""

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from xenbook.core.renames import aliases, current
from xenbook.engine import ledger


@pytest.fixture(autouse=True)
def _counted(tally):
    """Each case of this file counts in the reliability tier's summary line."""
    yield
    tally["upgrades"] += 1


PREVIOUS = "5cf02ff"  # the parent of 23140f8, the layered refactor: the previous release's layout
HERE = Path(__file__).resolve().parent
CURRENT = HERE.parent.parent
BEGIN = re.compile(r"^\s*(?:#|;|//)\s*BEGIN xenbook (\S+)\s*$", re.M)
TRANSIENT = ("/var/lib/xenbook/lock", "/var/lib/xenbook/pending/", "/proc/", "/run/", "/tmp/")  # may come and go


def git(*args: str, cwd: Path = HERE) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> Path:
    """The previous release's tree, from the repository this test runs in."""
    top = git("rev-parse", "--show-toplevel")
    if top.returncode != 0:
        pytest.skip(f"not a git checkout, so no previous release to upgrade from: {top.stderr.strip()}")
    if git("cat-file", "-e", f"{PREVIOUS}^{{commit}}").returncode != 0:
        pytest.skip(f"commit {PREVIOUS} (the previous release) is not in this clone: fetch its full history")
    out = tmp_path_factory.mktemp("previous")
    archive = out / "previous.tar"
    made = git("archive", "--format=tar", "-o", str(archive), PREVIOUS, cwd=Path(top.stdout.strip()))
    assert made.returncode == 0, made.stderr
    with tarfile.open(archive) as tar:
        tar.extractall(out / "tree", filter="data")
    return out / "tree"


def xenbook(tree: Path, module: str, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    """Run the xenbook of tree (its CLI module) with args; its output."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("XENBOOK_RUN_ID", None)
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode in ok, f"{module} {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def files(root: Path) -> dict[str, Path]:
    """Host path -> local path of every regular file in the sample tree."""
    return {"/" + str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def managed_blocks(root: Path) -> dict[str, list[str]]:
    """Host path -> the ids of xenbook's blocks in it (as this release names them), in order."""
    out = {}
    for path, local in files(root).items():
        data = local.read_bytes()
        if b"BEGIN xenbook" in data and b"\0" not in data:
            out[path] = [current("block", i) for i in BEGIN.findall(data.decode("utf-8", "replace"))]
    return out


def set_up(tree: Path, module: str, host: Path) -> None:
    """The sample runbook of tree's release on a new sample host: apply, the reboot into Xen, apply."""
    params, target = str(tree / "examples" / "sample-host.yaml"), f"sample:{host}"
    xenbook(tree, module, "sample", "init", str(host))
    xenbook(tree, module, "apply", "--params", params, "--target", target, ok=(3,))  # the reboot point
    xenbook(tree, module, "reboot", "--target", target)
    xenbook(tree, module, "apply", "--params", params, "--target", target)


@pytest.mark.slow
def identity(root: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Each guest config's (MACs, root=UUID= values): what a guest is known by on the bridge and on its disk."""
    out = {}
    for cfg in sorted((root / "etc/xen").glob("*.cfg")):
        text = cfg.read_text()
        out[cfg.stem] = (re.findall(r"mac=([0-9a-f:]{17})", text), re.findall(r"root=UUID=([0-9a-f-]{36})", text))
    return out


def test_the_previous_release_then_this_one_converges_without_duplicates_or_losses(previous, tmp_path):
    host = tmp_path / "host"
    target = f"sample:{host}"
    set_up(previous, "xenbook.cli", host)
    old_files, old_blocks = set(files(host)), managed_blocks(host)
    old_ledger = (host / ledger.LEDGER[1:]).read_bytes()
    old_identity = identity(host)
    assert old_identity["dom01"][0] and old_identity["dom01"][1], "the previous release made the guest dom01"
    assert old_blocks and any(p.startswith("/etc/xen/") for p in old_files), "the previous release set the host up"

    params = str(CURRENT / "examples" / "sample-host.yaml")
    xenbook(CURRENT, "xenbook.cli.main", "apply", "--params", params, "--target", target)

    now_files, now_blocks = set(files(host)), managed_blocks(host)
    assert identity(host) == old_identity, "an existing guest keeps its MAC and root filesystem UUID"
    lost = sorted(p for p in old_files - now_files if not p.startswith(TRANSIENT))
    assert not lost, f"files the previous release left are gone: {lost}"
    doubled = {p: ids for p, ids in now_blocks.items() if len(ids) != len(set(ids))}
    assert not doubled, f"managed blocks twice in one file (a renamed id left behind?): {doubled}"
    for path, ids in old_blocks.items():
        assert set(ids) <= set(now_blocks.get(path, [])), f"{path} lost xenbook blocks: {ids} -> {now_blocks.get(path)}"
    fresh = tmp_path / "fresh"  # this release on a new host: the blocks an upgraded host must hold, no more
    set_up(CURRENT, "xenbook.cli.main", fresh)
    wanted = managed_blocks(fresh)
    differ = {p: (sorted(now_blocks[p]), sorted(wanted[p])) for p in set(now_blocks) & set(wanted)
              if sorted(now_blocks[p]) != sorted(wanted[p])}
    assert not differ, f"blocks of the upgraded host (left) and of a new one (right) differ (orphans?): {differ}"
    assert (host / ledger.LEDGER[1:]).read_bytes().startswith(old_ledger), "the ledger is append-only across releases"

    report = json.loads(xenbook(CURRENT, "xenbook.cli.main", "apply", "--params", params, "--target", target,
                                "--json"))
    statuses = {f"{s['section']}/{s['name']}": s["status"] for s in report["steps"]}
    assert set(statuses.values()) == {"ok"}, {k: v for k, v in statuses.items() if v != "ok"}
    regenerations = {name for s in report["steps"] for name in (s["name"], *aliases("step", s["name"]))}
    pending = host / "var/lib/xenbook/pending"
    orphans = sorted(set(os.listdir(pending)) - regenerations) if pending.is_dir() else []
    assert not orphans and not (pending.is_dir() and os.listdir(pending)), f"pending markers left: {orphans}"
    assert not (host / "var/lib/xenbook/lock").exists()
