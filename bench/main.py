"""The benchmark: xenbook against Ansible and pyinfra on the same file edits, xenbook's own costs, a table and
RESULTS.md. Run it as `bash bench/run` (which makes the venvs); options: --runs N (default 5, at least 5 for the
published figures), --ansible-big-runs N (Ansible at N=500, default 2), --parts a,b (a subset, for trying), --merge
(the parts measured replace theirs in --out's data, the others kept)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import cases  # noqa: E402
import fixture  # noqa: E402
import remote  # noqa: E402
import results  # noqa: E402
import samples  # noqa: E402
from measure import machine, python_version, version_of  # noqa: E402

PARTS = ("edits", "sample", "scaling", "notebook", "domains", "imports", "hostops", "remote")
SCALES = (10, 100, 500)


def meta(runs: int, big: int) -> dict:
    venv, peers = cases.PY, str(BENCH / ".venv" / "bin" / "python")
    versions = {"Python": python_version(venv), **{d: version_of(venv, d) for d in (
        "xenbook", "papermill", "nbclient", "ipykernel", "pydantic", "click", "rich")},
        **{d: version_of(peers, d) for d in ("ansible-core", "pyinfra")}}
    return {"machine": machine(), "versions": versions, "runs": runs, "ansible_big_runs": big,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_start": os.getloadavg()}


def part_edits(work: Path, runs: int, log) -> dict:
    base = fixture.runbook_tree(work / "fresh")
    spec = fixture.runbook_spec(base)
    every = {t: runs for t in cases.TOOLS}
    return cases.edits("runbook", base, spec, work, every, True, True, log)


def part_sample(work: Path, runs: int, log) -> dict:
    fresh, done = samples.fresh(work / "fresh"), samples.converged(work / "converged")
    xb, params = str(samples.XENBOOK), str(samples.PARAMS)
    argvs = {"plan_fresh": [xb, "plan", "--params", params, "--target", f"sample:{fresh}"],
             "plan_converged": [xb, "plan", "--params", params, "--target", f"sample:{done}"],
             "apply_converged": [xb, "apply", "--params", params, "--target", f"sample:{done}"]}
    return cases.cold("sample", argvs, runs, log, env=samples.env())


def part_scaling(work: Path, runs: int, big: int, log) -> dict:
    out = {}
    for n in SCALES:
        base = work / f"n{n}" / "fresh"
        spec = fixture.scale_tree(base, n)
        counts = {t: (big if t == "ansible" and n >= 500 else runs) for t in cases.TOOLS}
        out[n] = cases.edits(f"N={n}", base, spec, work / f"n{n}", counts, False, False, log)
        out[n]["runs"] = counts
    return out


def part_notebook(work: Path, runs: int, log) -> dict:
    host = samples.converged(work / "converged")
    xb, params, py = str(samples.XENBOOK), str(samples.PARAMS), cases.PY
    target = ["--params", params, "--target", f"sample:{host}", "--sections", "boot"]
    argvs = {
        "xenbook_run": lambda i: [xb, "run", *target, "--out", str(work / "runs" / f"r{i}")],
        "xenbook_plan": [xb, "plan", *target],
        "in_process": [py, str(BENCH / "inprocess.py"), str(host), "boot"],
        "papermill_boot_save_on": [py, str(BENCH / "papermill_case.py"), "boot", str(work / "pm-on"), "on", str(host)],
        "papermill_boot_save_off": [py, str(BENCH / "papermill_case.py"), "boot", str(work / "pm-off"), "off",
                                    str(host)],
        "papermill_200_cells_save_on": [py, str(BENCH / "papermill_case.py"), "cells", str(work / "c-on"), "on"],
        "papermill_200_cells_save_off": [py, str(BENCH / "papermill_case.py"), "cells", str(work / "c-off"), "off"],
    }
    out = cases.cold("notebook", argvs, runs, log, env=samples.env())
    inner = [json.loads(line) for line in out["in_process"]["outputs"]]
    out["in_process"]["steps_s"] = sorted(x["steps_s"] for x in inner)[len(inner) // 2]
    out["in_process"]["setup_s"] = sorted(x["setup_s"] for x in inner)[len(inner) // 2]
    for key in [k for k in out if k.startswith("papermill")]:
        out[key]["notebook_bytes"] = json.loads(out[key]["outputs"][-1])["notebook_bytes"]
    return out


def merge(old: dict, new: dict, parts: list[str]) -> dict:
    """old's figures with the parts measured now replaced by new's; the machine and versions stay old's (the
    parts' own dates are in their meta), the load after each part measured now is added."""
    out = {**old, **{p: new[p] for p in parts if p in new}}
    meta = out["meta"] = dict(old["meta"])
    meta["load_after"] = {**meta.get("load_after", {}), **new["meta"].get("load_after", {})}
    meta["merged"] = [*meta.get("merged", []), {"parts": parts, "date": new["meta"]["date"],
                                                 "runs": new["meta"]["runs"], "minutes": new["meta"]["minutes"]}]
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bash bench/run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each case (default 5)")
    ap.add_argument("--ansible-big-runs", type=int, default=2, help="Ansible's runs at N=500 (default 2)")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma list of {', '.join(PARTS)}")
    ap.add_argument("--out", default=str(BENCH / "RESULTS.md"),
                    help="the Markdown results (default bench/RESULTS.md; its data beside it as .json)")
    ap.add_argument("--report-only", action="store_true", help="rewrite --out from its .json, measuring nothing")
    ap.add_argument("--merge", action="store_true",
                    help="keep the parts not measured now from --out's .json (e.g. --parts remote --merge)")
    args = ap.parse_args(argv)
    if args.report_only:
        out = Path(args.out).resolve()
        before = BENCH / "RESULTS-before.json"
        data = json.loads(out.with_suffix(".json").read_text())
        out.write_text(results.markdown(data, json.loads(before.read_text()) if before.exists() else None))
        print(results.table(data))
        return 0
    parts = [p for p in args.parts.split(",") if p]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        ap.error(f"unknown parts: {', '.join(unknown)}")
    work = BENCH / "work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    log = cases.log_to_stderr
    data: dict = {"meta": meta(args.runs, args.ansible_big_runs)}
    started = time.monotonic()
    try:
        for part in parts:
            where = work / part
            where.mkdir()
            if part == "edits":
                data["edits"] = part_edits(where, args.runs, log)
            elif part == "sample":
                data["sample"] = part_sample(where, args.runs, log)
            elif part == "scaling":
                data["scaling"] = part_scaling(where, args.runs, args.ansible_big_runs, log)
            elif part == "notebook":
                data["notebook"] = part_notebook(where, args.runs, log)
            elif part == "domains":
                data["domains"] = cases.python_json("domains.py")
            elif part == "imports":
                data["imports"] = cases.import_times(max(args.runs, 10), log)
            elif part == "remote":
                data["remote"] = {**remote.part(where, args.runs, log), "meta": {
                    "date": data["meta"]["date"], "runs": args.runs}}
            elif part == "hostops":
                data["hostops"] = {k: cases.python_json("hostops.py", str(make(where / k))) for k, make in
                                   (("fresh", samples.fresh), ("converged", samples.converged))}
            data["meta"].setdefault("load_after", {})[part] = os.getloadavg()[0]
            (work / "partial.json").write_text(json.dumps(data, indent=1, default=str) + "\n")  # kept if one fails
    except cases.GateFailed as e:
        print(f"benchmark FAILED: {e}\n(the parts measured before are in {work / 'partial.json'})", file=sys.stderr)
        return 1
    data["meta"]["load_end"] = os.getloadavg()
    data["meta"]["minutes"] = round((time.monotonic() - started) / 60, 1)
    out = Path(args.out).resolve()
    if args.merge and out.with_suffix(".json").exists():
        data = merge(json.loads(out.with_suffix(".json").read_text()), data, parts)
    raw = json.dumps(data, indent=1, default=str) + "\n"
    out.with_suffix(".json").write_text(raw.replace(str(BENCH.parent), "."))  # paths relative to the checkout
    before = BENCH / "RESULTS-before.json"  # the figures before the speed fixes, kept for comparison
    text = results.markdown(data, json.loads(before.read_text()) if before.exists() else None)
    out.write_text(text)
    print(results.table(data))
    print(f"\nwrote {out} and {out.with_suffix('.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
