"""xenbook's own steps and runner against a fixture tree, in one cold process: a check (dry run) or an apply.

    python bench/xenbook_edits.py ROOT check|apply             the runbook's file edits (real steps)
    python bench/xenbook_edits.py ROOT check|apply SPEC.json   the edits of a spec (marker blocks, whole files)

The host is a chroot-like RootedHost at ROOT that runs no commands: findmnt and `ip -j -d link show` are answered
from the fixture's canned tables, anything else "is not installed". Validators (bash -n, grub-script-check) do
run, as in a real plan. Prints one JSON line: step counts, files with a diff ("files"), and the seconds the runner
took (imports and parameters excluded)."""

from __future__ import annotations

import json
import sys
import time

from xenbook.connectors.rooted import RootedHost
from xenbook.core.commands import Command, Result
from xenbook.core.step import FileStep, Step
from xenbook.edits import blocks
from xenbook.engine.runner import Runner


class FixtureHost(RootedHost):
    """A directory tree standing for a host; commands are not run."""

    def __init__(self, root: str):
        super().__init__(root)
        self.target = f"chroot:{self.root}"

    def run(self, command: Command, *, timeout=None, on_line=None) -> Result:
        from fixture import canned
        out = canned(command.argv)
        if out is not None:
            return Result(0, out, "")
        return Result(127, "", f"{command.argv[0]}: not run on a benchmark fixture")


class FileContent(FileStep):
    """One whole file with the given text."""

    def __init__(self, section: str, path: str, text: str, mode: int):
        self.section, self.name, self.path, self.text, self.mode = section, f"File({path})", path, text, mode

    def render(self, host, old):
        return self.text


class MarkerBlock(FileStep):
    """One '# BEGIN xenbook ID' block in an existing file (blocks.ensure_block, as the runbook's steps use)."""

    section = "bench"

    def __init__(self, path: str, block_id: str, body: str):
        self.name, self.path, self.block_id, self.body = f"Block({path})", path, block_id, body

    def render(self, host, old):
        return blocks.ensure_block(old or "", self.block_id, self.body)


def runbook_steps(params) -> list[Step]:
    """The runbook's file edits: GRUB defaults and entry, xl.conf, the bridge, the guest's config and files."""
    from xenbook.sections.boot.steps import BootFacts, GrubDefaults, GrubXenEntry
    from xenbook.sections.dom0.bridge import XenBridge
    from xenbook.sections.dom0.steps import XlConfSettings
    from xenbook.sections.domu.steps import GuestConfig, guest_files

    from xenbook.connectors.fake import FakeHost
    from xenbook.sections.domu.identity import identified

    from fixture import GUEST_FILES, GUEST_MOUNT
    # the guest's MAC and root UUID, as its dom0 gives them: from the name and the dom0's machine ID
    guest = identified(params.guests[0], FakeHost({"/etc/machine-id": "b3c4" * 8 + "\n"}))
    facts = BootFacts(params.boot)
    steps: list[Step] = [GrubDefaults(facts), GrubXenEntry(facts), XlConfSettings(params),
                         XenBridge(params, "systemd-networkd"), GuestConfig(guest)]
    files = guest_files(guest, GUEST_MOUNT)
    for path in GUEST_FILES:
        data, mode = files[GUEST_MOUNT + path]
        steps.append(FileContent("domu", GUEST_MOUNT + path, data.decode(), mode))
    return steps


def spec_steps(spec: list[dict]) -> list[Step]:
    return [MarkerBlock(e["path"], e["block"], e["body"]) if "block" in e else
            FileContent("bench", e["path"], e["content"], int(e["mode"], 8)) for e in spec]


def main(argv: list[str]) -> int:
    root, mode = argv[0], argv[1]
    if len(argv) > 2:
        with open(argv[2]) as f:
            steps = spec_steps(json.load(f))
    else:
        from fixture import runbook_params
        steps = runbook_steps(runbook_params())
    started = time.perf_counter()
    return told(Runner(FixtureHost(root), dry_run=mode == "check").run(steps), started)


def told(report, started: float) -> int:
    """Print the run's JSON line (step counts, files with a diff, seconds since started); 1 when a step failed."""
    counts = {k: report.count(k) for k in ("ok", "would-change", "changed", "failed", "skipped")}
    counts["files"] = sum(len(s.diffs) for s in report.steps if s.status in ("would-change", "changed"))
    for s in report.steps:
        if s.status == "failed":
            print(f"{s.name}: {s.reason}", file=sys.stderr)
    print(json.dumps({**counts, "steps": len(report.steps), "seconds": round(time.perf_counter() - started, 4)}))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
