"""The benchmark's remote part: the runbook's file edits over SSH by xenbook, pyinfra and Ansible, xenbook's
whole-runbook plan over SSH (and each section's), and fleet plans through the Ansible collection (remote_fleet.py).

Everything goes through one loopback sshd (remote_sshd.py), which counts each run's SSH connections and sessions
from its own log, the same way for every tool. Wall times are medians of cold processes, the tools' runs
interleaved in a rotating order. xenbook's SshHost may also write, where XENBOOK_SSH_STATS names a file, one JSON
line per connection ({"target", "sessions", "exchanges"}); the exchanges are reported when it does, else "n/a"."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from pathlib import Path

import yaml

import cases
import fixture
import remote_fleet
import remote_peers
import remote_sshd
import samples
from measure import Run, Series, run

TOOLS = cases.TOOLS
KEYS = ("check", "apply", "converged_apply", "converged_check")
PLAN_OK = (0, 1, 3)  # a plan of this Debian machine: steps may fail or stop at the reboot point; the reads count
# examples/sample-host.yaml pins dom0 to 2 CPUs; the benchmark machine may have 2, which the host check refuses
PLAN_SETS = ("boot.dom0_max_vcpus=1",)


def stats(path: Path) -> dict | None:
    """The sessions and exchanges SshHost reported in path (summed over its connections); None without a file."""
    if not path.exists():
        return None
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        try:
            row = json.loads(line) if line.strip() else None
        except ValueError:
            row = "malformed"
        if row is not None and not (isinstance(row, dict) and all(
                isinstance(row.get(k, 0), int) for k in ("sessions", "exchanges"))):
            raise cases.GateFailed(f"{path} line {n} is no {{\"target\", \"sessions\", \"exchanges\"}} record: "
                                   f"{line[:200]!r}")
        if row is not None:
            rows.append(row)
    return {"connections": len(rows), "sessions": sum(r.get("sessions", 0) for r in rows),
            "exchanges": sum(r.get("exchanges", 0) for r in rows)}


def measured(sshd: remote_sshd.Sshd, argv: list[str], env: dict, cwd: Path, stats_file: Path | None = None
             ) -> tuple[Run, dict]:
    """One cold run; (the run, what the server served it: connections, sessions by kind, SshHost's own stats)."""
    if stats_file is not None:
        stats_file.unlink(missing_ok=True)
        env = {**env, "XENBOOK_SSH_STATS": str(stats_file)}
    mark = sshd.mark()
    r = run(argv, env=env, cwd=str(cwd))
    served = sshd.since(mark)
    if stats_file is not None:
        served["client"] = stats(stats_file)
    return r, served


def trips(served: list[dict]) -> dict:
    """The median of each count over a case's runs (they should not vary), and their range."""
    sessions = [s["sessions"] for s in served]
    client = [s["client"] for s in served if s.get("client")]
    return {"sessions": statistics.median(sessions), "sessions_min": min(sessions), "sessions_max": max(sessions),
            "connections": statistics.median(s["connections"] for s in served), "kinds": served[-1]["kinds"],
            "exchanges": statistics.median(c["exchanges"] for c in client) if client else None}


def session_cost(sshd: remote_sshd.Sshd, work: Path, n: int = 10) -> dict:
    """What one `ssh HOST true` through an open control master costs here: the floor of a round trip by command."""
    control = work / "cm"
    base = ["ssh", "-F", str(sshd.client_config), "-p", str(sshd.port), "-o", "BatchMode=yes",
            "-o", "ControlMaster=auto", "-o", f"ControlPath={control}", "-o", "ControlPersist=60", "-l", "root"]
    try:
        first = run(base + ["127.0.0.1", "true"])
        walls = [run(base + ["127.0.0.1", "true"]).wall for _ in range(n)]
    finally:
        subprocess.run(base + ["-O", "exit", "127.0.0.1"], capture_output=True, stdin=subprocess.DEVNULL)
    return {"connect_s": first.wall, "median_s": statistics.median(walls), "min_s": min(walls), "n": n}


def _one(tool: str, sshd, root: Path, spec_file: Path, work: Path, check: bool) -> tuple[Run, int, dict]:
    argv, env = remote_peers.command(tool, sshd, root, spec_file, work, check)
    r, served = measured(sshd, argv, env, work, work / "stats.jsonl" if tool == "xenbook" else None)
    changed = remote_peers.changed(tool, r.out, r.err, check) if r.code == 0 else None
    if changed is None:
        raise cases.GateFailed(f"over SSH, {tool} {'check' if check else 'apply'} on {root} failed (exit {r.code}):"
                               f"\n{r.out[-3000:]}\n{r.err[-3000:]}")
    return r, changed, served


def edits(sshd: remote_sshd.Sshd, work: Path, runs: int, log) -> dict:
    """The runbook's edits over SSH: applies on fresh copies (the last stays, converged), then rounds of the check
    on the fresh tree and the re-apply and check on each tool's converged tree; the same gates as the local part."""
    work.mkdir(parents=True, exist_ok=True)
    base = fixture.runbook_tree(work / "fresh")
    spec = fixture.runbook_spec(base)
    spec_file = work / "spec.json"
    spec_file.write_text(json.dumps(spec))
    before = fixture.tree_digest(base)
    shutil.rmtree(remote_peers.BENCH / "work" / "xdg-cache-edits", ignore_errors=True)  # xenbook's read-ahead memory
    for tool in TOOLS:  # warm-up: bytecode and file caches, Ansible's control master; not timed
        _one(tool, sshd, base, spec_file, work, True)
    series = {(k, t): Series(t) for k in KEYS for t in TOOLS}
    served: dict = {(k, t): [] for k in KEYS for t in TOOLS}
    changed: dict = {t: {} for t in TOOLS}
    for key in KEYS:
        for i in range(runs):
            for tool in TOOLS[i % 3:] + TOOLS[:i % 3]:  # rotate the order, so that no tool always runs first
                if key == "apply":
                    fixture.copy_tree(base, work / tool)
                root = base if key == "check" else work / tool
                r, n, s = _one(tool, sshd, root, spec_file, work, key in ("check", "converged_check"))
                series[key, tool].runs.append(r)
                served[key, tool].append(s)
                changed[tool][key] = n
        log(f"remote edits: {key} " + ", ".join(
            f"{t} {series[key, t].median:.3f} s / {trips(served[key, t])['sessions']:g} sessions" for t in TOOLS))
        if key == "apply":
            cases.identical("remote edits", spec, work, base)
    if fixture.tree_digest(base) != before:
        raise cases.GateFailed("remote edits: a check changed the fixture tree")
    if len({json.dumps(changed[t], sort_keys=True) for t in TOOLS}) != 1:
        raise cases.GateFailed(f"remote edits: the tools disagree on what changed: {changed}")
    out: dict = {"files": len(spec), "changed": changed, "identical": True}
    for key in KEYS:
        out[key] = {t: {**cases.summary(series[key, t]), **trips(served[key, t])} for t in TOOLS}
    return out


def _plan_argv(sshd: remote_sshd.Sshd, section: str | None) -> list[str]:
    argv = [str(samples.XENBOOK), "plan", "--json", "--params", str(samples.PARAMS),
            "--target", f"ssh:root@127.0.0.1:{sshd.port}", "--ssh-config", str(sshd.client_config)]
    for pair in PLAN_SETS:
        argv += ["--set", pair]
    return argv + (["--sections", section] if section else [])


def _statuses(r: Run, label: str) -> dict[str, int]:
    """The steps' statuses of a plan's JSON report; a run without one (no connection, bad input) voids the part."""
    try:
        steps = json.loads(r.out)["steps"]
    except (ValueError, KeyError, TypeError):
        raise cases.GateFailed(f"remote plan {label} exited {r.code} without a report:\n{r.out[-2000:]}\n"
                               f"{r.err[-2000:]}") from None
    out: dict[str, int] = {}
    for s in steps:
        out[s["status"]] = out.get(s["status"], 0) + 1
    return out


def plans(sshd: remote_sshd.Sshd, work: Path, runs: int, log) -> dict:
    """`xenbook plan` of the whole runbook over SSH against this machine, and of each section alone."""
    work.mkdir(parents=True, exist_ok=True)
    sections = yaml.safe_load(samples.PARAMS.read_text())["sections"]
    keys = [None] + list(sections)
    # xenbook's read-ahead memory in a folder of the bench's, empty at the start: the untimed first plan of each scope
    # is what a target's first plan costs; the timed ones read ahead what it read
    cache = work / "xdg-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**samples.env(), "XDG_CACHE_HOME": str(cache)}
    first = {}
    for key in keys:
        _, s = measured(sshd, _plan_argv(sshd, key), env, work, work / "stats.jsonl")  # warm-up, not timed
        first[key or "runbook"] = {"sessions": s["sessions"], "exchanges": (s.get("client") or {}).get("exchanges")}
    series = {k: Series(k or "runbook") for k in keys}
    served: dict = {k: [] for k in keys}
    statuses: dict = {}
    for i in range(runs):
        for key in keys:
            label = key or "runbook"
            r, s = measured(sshd, _plan_argv(sshd, key), env, work, work / "stats.jsonl")
            if r.code not in PLAN_OK:
                raise cases.GateFailed(f"remote plan {label} exited {r.code}:\n{r.out[-2000:]}\n{r.err[-2000:]}")
            statuses[label] = _statuses(r, label)
            series[key].runs.append(r)
            served[key].append(s)
    out = {"sections": sections, "sets": list(PLAN_SETS), "first": first}
    for key in keys:
        label = key or "runbook"
        out[label] = {**cases.summary(series[key]), **trips(served[key]), "statuses": statuses[label],
                      "exit": series[key].runs[-1].code}
    log("remote plan: " + ", ".join(f"{k or 'runbook'} {series[k].median:.3f} s / "
                                    f"{out[k or 'runbook']['sessions']:g} sessions" for k in keys))
    return out


def _stop_masters(work: Path) -> None:
    """Ask the control masters Ansible left (ControlPersist) to exit: the server is about to stop."""
    for sock in (work / "edits" / "ansible-home" / "cp").glob("*"):
        subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "127.0.0.1"], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=10)


def part(work: Path, runs: int, log) -> dict:
    """The whole remote part ({"skipped": why} without root or OpenSSH); the loopback sshd is stopped whatever
    happens."""
    why = remote_sshd.unavailable()
    if why:
        log(f"remote: {why}")
        return {"skipped": why}
    sshd = remote_sshd.start(work / "sshd")
    try:
        out = {"session_cost": session_cost(sshd, work), "openssh": _openssh()}
        log(f"remote: one ssh session through a control master takes {out['session_cost']['median_s']:.3f} s here")
        out["edits"] = edits(sshd, work / "edits", runs, log)
        out["plan"] = plans(sshd, work / "plan", runs, log)
    finally:
        _stop_masters(work)
        sshd.stop()
    out["fleet"] = remote_fleet.measure(work / "fleet", log)
    return out


def _openssh() -> str:
    r = subprocess.run(["ssh", "-V"], capture_output=True, text=True)
    return (r.stderr or r.stdout).strip()


if __name__ == "__main__":  # a trial of the part alone: python bench/remote.py [RUNS]
    import sys
    where = Path(__file__).resolve().parent / "work" / "remote"
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    print(json.dumps(part(where, int(sys.argv[1]) if len(sys.argv) > 1 else 1, cases.log_to_stderr), indent=1,
                     default=str))
