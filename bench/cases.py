"""The benchmark's cases: each runs cold processes side by side and returns plain data (see main.py)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import fixture
import peers
import samples
from measure import Run, Series, run

BENCH = Path(__file__).resolve().parent
PY = str(samples.REPO / ".venv" / "bin" / "python")
TOOLS = ("xenbook", "pyinfra", "ansible")


class GateFailed(SystemExit):
    """A tool failed, changed something a check must not, or the tools' files differ: the figures are void."""


def summary(s: Series, runner: bool = False) -> dict:
    """Median, spread, CPU and memory of a series; runner: its runs are xenbook_edits.py's, whose last line says
    how long xenbook's runner took (imports excluded)."""
    lo, hi = s.spread
    out = {"median": s.median, "min": lo, "max": hi, "cpu": s.cpu, "rss_mib": max(r.rss_mib for r in s.runs),
           "n": s.n}
    if runner:
        inner = sorted(json.loads(r.out.strip().splitlines()[-1])["seconds"] for r in s.runs)
        out["runner_s"] = inner[len(inner) // 2]
    return out


def command(tool: str, root: Path, spec_file: Path, work: Path, check: bool, runbook: bool) -> tuple[list, dict]:
    """(argv, env) of one run of tool on root."""
    if tool == "xenbook":
        argv = [PY, str(BENCH / "xenbook_edits.py"), str(root), "check" if check else "apply"]
        return argv + ([] if runbook else [str(spec_file)]), dict(os.environ)
    if tool == "ansible":
        book = work / f"playbook-{root.name}.yml"
        if not book.exists():
            peers.playbook(json.loads(spec_file.read_text()), root, book)
        return peers.ansible_argv(book, check), peers.ansible_env(work)
    return peers.pyinfra_argv(check), peers.pyinfra_env(spec_file, root)


def tool_run(tool: str, root: Path, spec_file: Path, work: Path, check: bool, runbook: bool) -> tuple[Run, int]:
    """One cold run of tool on root; (the run, the number of files it changed or would change)."""
    argv, env = command(tool, root, spec_file, work, check, runbook)
    r = run(argv, env=env, cwd=str(work))
    if tool == "xenbook":
        changed = json.loads(r.out.strip().splitlines()[-1])["files"] if r.code == 0 else None
    elif tool == "ansible":
        changed = peers.ansible_changed(r.out)
    else:
        changed = (peers.pyinfra_dry_changed if check else peers.pyinfra_changed)(r.out + r.err)
    if r.code != 0 or changed is None:
        raise GateFailed(f"{tool} {'check' if check else 'apply'} on {root} failed (exit {r.code}):\n"
                         f"{r.out[-3000:]}\n{r.err[-3000:]}")
    return r, changed


def edits(label: str, base: Path, spec: list[dict], work: Path, runs: dict[str, int], runbook: bool,
          converged: bool, log) -> dict:
    """Apply on fresh copies (the last copy stays, converged); then, in interleaved rounds, the check on the fresh
    tree and (when converged) the re-apply and the check on each tool's converged tree."""
    spec_file = work / "spec.json"
    spec_file.write_text(json.dumps(spec))
    keys = ("check", "converged_apply", "converged_check") if converged else ("check",)
    out: dict = {"files": len(spec), "changed": {t: {} for t in TOOLS}}
    before = fixture.tree_digest(base)
    for tool in TOOLS:  # warm-up: bytecode and file caches, not timed
        tool_run(tool, base, spec_file, work, True, runbook)
    applied = {t: Series(t) for t in TOOLS}
    for i in range(max(runs.values()) if converged else 1):
        for tool in TOOLS[i % 3:] + TOOLS[:i % 3]:
            if i < (runs[tool] if converged else 1):
                root = fixture.copy_tree(base, work / tool)
                r, changed = tool_run(tool, root, spec_file, work, False, runbook)
                applied[tool].runs.append(r)
                out["changed"][tool]["apply"] = changed
    out["apply"] = {t: summary(applied[t], t == "xenbook") for t in TOOLS}
    log(f"{label}: apply " + ", ".join(f"{t} {applied[t].median:.3f} s" for t in TOOLS))
    out["identical"] = identical(label, spec, work, base)
    series = {(k, t): Series(t) for k in keys for t in TOOLS}
    for i in range(max(runs.values())):
        for tool in TOOLS[i % 3:] + TOOLS[:i % 3]:  # rotate the order, so that no tool always runs first
            for key in keys if i < runs[tool] else ():
                root = base if key == "check" else work / tool
                r, changed = tool_run(tool, root, spec_file, work, key != "converged_apply", runbook)
                series[key, tool].runs.append(r)
                out["changed"][tool][key] = changed
    for key in keys:
        out[key] = {t: summary(series[key, t], t == "xenbook") for t in TOOLS}
        log(f"{label}: {key} " + ", ".join(f"{t} {series[key, t].median:.3f} s" for t in TOOLS))
    out["processes"] = processes(base, spec_file, work, runbook)
    if fixture.tree_digest(base) != before:
        raise GateFailed(f"{label}: a check changed the fixture tree")
    counts = {json.dumps(out["changed"][t], sort_keys=True) for t in TOOLS}
    if len(counts) != 1:
        raise GateFailed(f"{label}: the tools disagree on what changed: {out['changed']}")
    return out


def processes(base: Path, spec_file: Path, work: Path, runbook: bool) -> dict[str, int] | None:
    """How many programs each tool's check starts (execve calls under strace, not timed); None without strace."""
    if shutil.which("strace") is None:
        return None
    out = {}
    for tool in TOOLS:
        argv, env = command(tool, base, spec_file, work, True, runbook)
        trace = work / f"execve-{tool}.txt"
        run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", str(trace), *argv], env=env, cwd=str(work))
        out[tool] = sum(1 for line in trace.read_text().splitlines()
                        if "execve" in line and line.rstrip().endswith("= 0"))
    return out


def identical(label: str, spec: list[dict], work: Path, base: Path) -> bool:
    """Every file the spec names is byte-identical across the tools' applied trees, and as xenbook planned it."""
    from xenbook.edits import blocks
    trees = {t: fixture.snapshot(work / t, spec) for t in TOOLS}
    original = fixture.snapshot(base, spec)
    for e in spec:
        path = e["path"]
        wanted = (e["content"].encode() if "content" in e else
                  blocks.ensure_block((original[path] or b"").decode(), e["block"], e["body"]).encode())
        got = {t: trees[t][path] for t in TOOLS}
        if any(v != wanted for v in got.values()):
            differs = ", ".join(t for t, v in got.items() if v != wanted)
            raise GateFailed(f"{label}: {path} is not byte-identical across the tools (differs: {differs})")
    return True


def cold(label: str, argvs: dict[str, list[str]], runs: int, log, env: dict | None = None, cwd: str | None = None,
         warm: bool = True) -> dict:
    """Cold processes of several commands, interleaved; each must exit 0."""
    series = {k: Series(k) for k in argvs}
    if warm:
        for argv in argvs.values():
            run(argv(-1) if callable(argv) else argv, env=env, cwd=cwd)
    for i in range(runs):
        for key, argv in argvs.items():
            r = run(argv(i) if callable(argv) else argv, env=env, cwd=cwd)
            if r.code != 0:
                raise GateFailed(f"{label}/{key} exited {r.code}:\n{r.out[-2000:]}\n{r.err[-2000:]}")
            series[key].runs.append(r)
    log(f"{label}: " + ", ".join(f"{k} {s.median:.3f} s" for k, s in series.items()))
    return {k: {**summary(s), "outputs": [r.out.strip().splitlines()[-1] if r.out.strip() else "" for r in s.runs]}
            for k, s in series.items()}


def python_json(script: str, *args: str) -> dict:
    r = run([PY, str(BENCH / script), *args])
    if r.code != 0:
        raise GateFailed(f"{script} exited {r.code}:\n{r.err[-2000:]}")
    return json.loads(r.out.strip().splitlines()[-1])


def import_times(runs: int, log) -> dict:
    argvs = {name: [PY, "-c", code] for name, code in (
        ("python", "pass"), ("xenbook", "import xenbook"), ("xenbook.cli.main", "import xenbook.cli.main"),
        ("xenbook.ui.notebook", "import xenbook.ui.notebook"))}
    out = cold("import", argvs, runs, log)
    for module in ("xenbook.cli.main", "xenbook.ui.notebook"):  # what python -X importtime says the import itself took
        r = run([PY, "-X", "importtime", "-c", f"import {module}"])
        rows = [line.split("|") for line in r.err.splitlines() if line.startswith("import time:")]
        out[f"importtime_{module}_ms"] = next(int(row[1]) / 1000 for row in rows if row[2].strip() == module)
    return out


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
