"""The benchmark's figures as a plain table (printed) and as bench/RESULTS.md (with the targets, met or missed)."""

from __future__ import annotations

import remote_report
from measure import fmt

TOOLS = ("xenbook", "pyinfra", "ansible")
CASES = (("check", "check (dry run), fresh tree"), ("apply", "apply, fresh tree"),
         ("converged_apply", "re-apply, converged tree"), ("converged_check", "check, converged tree"))


def med(x: dict | None) -> float | None:
    return None if x is None else x["median"]


def ratio(a: dict, b: dict) -> str:
    return f"{a['median'] / b['median']:.1f}×"


def _get(data: dict, path: str):
    node = data
    for key in path.split("/"):
        if not isinstance(node, dict):
            return None
        node = node.get(key, node.get(int(key)) if key.isdigit() else None)
    return node


def rows(data: dict) -> list[list[str]]:
    """[case, xenbook, pyinfra, ansible, pyinfra/xenbook, ansible/xenbook, runs] rows."""
    out = []
    e = data.get("edits")
    if e:
        for key, label in CASES:
            c = e[key]
            out.append([f"runbook edits ({e['files']} files): {label}", *(fmt(c[t]["median"]) for t in TOOLS),
                        ratio(c["pyinfra"], c["xenbook"]), ratio(c["ansible"], c["xenbook"]),
                        "/".join(str(c[t]["n"]) for t in TOOLS)])
        out += _processes(f"runbook edits ({e['files']} files)", e)
    out += remote_report.figure_rows(data)
    for n, s in (data.get("scaling") or {}).items():
        for key in ("check", "apply"):
            c = s[key]
            out.append([f"N={n} marker blocks: {key}", *(fmt(c[t]["median"]) for t in TOOLS),
                        ratio(c["pyinfra"], c["xenbook"]), ratio(c["ansible"], c["xenbook"]),
                        "/".join(str(c[t]["n"]) for t in TOOLS)])
        out += _processes(f"N={n} marker blocks", s)
    sample = data.get("sample")
    if sample:
        for key, label in (("plan_fresh", "xenbook plan, whole runbook, fresh sample host"),
                           ("plan_converged", "xenbook plan, whole runbook, converged sample host"),
                           ("apply_converged", "xenbook apply, whole runbook, converged sample host")):
            out.append([label, fmt(sample[key]["median"]), "", "", "", "", str(sample[key]["n"])])
    nb = data.get("notebook")
    if nb:
        steps = nb["in_process"]["steps_s"]
        out.append(["xenbook run, one notebook (boot section)", fmt(nb["xenbook_run"]["median"]), "", "", "", "",
                    str(nb["xenbook_run"]["n"])])
        out.append(["xenbook plan, same section, cold process", fmt(nb["xenbook_plan"]["median"]), "", "", "", "",
                    str(nb["xenbook_plan"]["n"])])
        out.append(["same steps in-process (steps only)", fmt(steps), "", "", "", "", str(nb["in_process"]["n"])])
        out.append(["notebook tax: xenbook run − steps", fmt(nb["xenbook_run"]["median"] - steps), "", "", "", "",
                    ""])
        for key in [k for k in nb if k.startswith("papermill")]:
            out.append([key.replace("_", " "), fmt(nb[key]["median"]), "", "", "", "", str(nb[key]["n"])])
    for count, d in (data.get("domains") or {}).items():
        out.append([f"parse xl list -l, {count} domains ({d['bytes'] / 1e6:.1f} MB)", f"{d['median_ms']:.1f} ms",
                    "", "", "", "", str(d["runs"])])
    imports = data.get("imports")
    if imports:
        for key in [k for k in imports if not k.startswith("importtime_")]:  # data of older layouts name others
            label = "python -c pass" if key == "python" else f"python -c 'import {key}'"
            out.append([label, fmt(imports[key]["median"]), "", "", "", "", str(imports[key]["n"])])
    return out


def cli_module(imports: dict) -> str:
    """The CLI's module in the imports data: xenbook.cli.main, or xenbook.cli in runs made before the layers."""
    return next((k for k in ("xenbook.cli.main", "xenbook.cli") if k in imports), "xenbook.cli.main")


def _processes(label: str, part: dict) -> list[list[str]]:
    """A row: the programs one check starts (strace, when installed)."""
    p = part.get("processes")
    if not p:
        return []
    return [[f"{label}: programs one check starts", *(str(p[t]) for t in TOOLS),
             f"{p['pyinfra'] / p['xenbook']:.0f}×", f"{p['ansible'] / p['xenbook']:.0f}×", "1/1/1"]]


HEADER = ["case", "xenbook", "pyinfra", "ansible", "pyinfra ÷ xenbook", "ansible ÷ xenbook", "runs (x/p/a)"]


def table(data: dict) -> str:
    body = [HEADER] + rows(data)
    widths = [max(len(r[i]) for r in body) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def verdict(measured: float, limit: float, unit: str, lower_is_better: bool = True) -> str:
    """'met (… to spare)' or 'missed by …'."""
    ok = measured <= limit if lower_is_better else measured >= limit
    margin = abs(limit - measured)
    shown = f"{margin * 1000:.0f} ms" if unit == "s" else f"{margin:.2f}{unit}" if margin < 1 else f"{margin:.1f}{unit}"
    return f"**met** ({shown} to spare)" if ok else f"**missed** by {shown}"


def slope(data: dict, tool: str) -> float | None:
    """Seconds per extra edit in a check: from N=10 to N=500 for the others; xenbook's own runner time at N=500
    over 500 (its per-edit cost is below the noise of a process start)."""
    s = data.get("scaling") or {}
    lo, hi = _get(s, "10/check/" + tool), _get(s, "500/check/" + tool)
    if tool == "xenbook":
        return None if hi is None or "runner_s" not in hi else hi["runner_s"] / 500
    return None if lo is None or hi is None else (hi["median"] - lo["median"]) / 490


def markdown(data: dict, before: dict | None) -> str:
    from report_text import document
    return document(data, before, markdown_table(HEADER, rows(data)))
