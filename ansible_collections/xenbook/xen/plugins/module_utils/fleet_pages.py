# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet summary of a rolling run: one row per inventory host, from the record the playbook fetched into the
host's own folder (result.json: the runbook module's results by phase), linking the host's report. Pure functions,
standard library only."""

from __future__ import annotations

import html
import json
from urllib.parse import quote

PHASES = ("plan", "apply", "after_reboot", "verify")  # the rolling playbook's runbook tasks, in order
FILES = ("report.html", "report.md")


def _done(result) -> bool:
    return isinstance(result, dict) and bool(result) and not result.get("skipped")


def _text(value) -> str:
    """A value of result.json as text: a string as it is, anything else (a hand-edited file's) as JSON."""
    return value if isinstance(value, str) else "" if value is None else json.dumps(value, default=str)


def _changed(result: dict) -> int | None:
    """The phase's count of changed steps; None when its counts are malformed (not a mapping of whole numbers)."""
    counts = result.get("counts", {})
    n = counts.get("changed", 0) if isinstance(counts, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else None


def _changes(record: dict) -> int:
    return sum(_changed(record[p]) or 0 for p in ("apply", "after_reboot") if _done(record.get(p)))


def row(host: str, record: dict | None, files: list[str]) -> dict:
    """What the summary says of one host: state, target, changes, reboot, second run, message, its reports."""
    record = record if isinstance(record, dict) else {}
    ran = {p: record[p] for p in PHASES if _done(record.get(p))}
    failed = [(p, r) for p, r in ran.items() if r.get("failed")]
    any_run = next(iter(ran.values()), {})
    out = {"host": host, "target": _text(any_run.get("target", "")), "changes": _changes(record),
           "rebooted": bool((ran.get("apply") or {}).get("reboot_required")), "second_run": "",
           "message": "", "files": [f for f in FILES if f in files]}
    if failed:
        phase, r = failed[0]
        out.update(state="failed", message=f"{phase}: {_text(r.get('msg', ''))}")
    elif not ran:
        out.update(state="no result", message="no result from the runbook on this host (not yet run, "
                                              "unreachable, or an earlier task failed: see the play's output)")
    elif "verify" not in ran:
        plan = ran.get("plan") or any_run
        out.update(state="planned", message=_text(plan.get("msg", "")))
    else:
        verify = ran["verify"]
        changed = _changed(verify)
        out["second_run"] = "unknown (malformed counts)" if changed is None else f"{changed} changed"
        out.update(state="not converged" if verify.get("changed") else "converged",
                   message=_text(verify.get("msg", "")))
    return out


def totals(rows: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r["state"]] = out.get(r["state"], 0) + 1
    return out


def _hosts(rows: list[dict]) -> str:
    return f"{len(rows)} host{'' if len(rows) == 1 else 's'}"


MARKDOWN = str.maketrans({"\\": "\\\\", "|": "\\|", "[": "\\[", "]": "\\]", "&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _line(text) -> str:
    """text as one Markdown table cell or heading: on one line, no HTML, no link, no cell break (a backslash, |,
    [ and ] escaped; &, < and > as HTML entities)."""
    return " ".join(str(text).split()).translate(MARKDOWN)


def markdown(rows: list[dict], title: str) -> str:
    count = ", ".join(f"{n} {s}" for s, n in sorted(totals(rows).items()))
    lines = [f"# {_line(title)}", "", f"{_hosts(rows)}: {count or 'none'}", "",
             "| host | state | target | changes | rebooted | second run | message | reports |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        links = " ".join(f"[{f.split('.')[-1]}]({quote(r['host'])}/{f})" for f in r["files"])
        cells = [r["host"], r["state"], r["target"], r["changes"], "yes" if r["rebooted"] else "no",
                 r["second_run"], r["message"], links]
        lines.append("| " + " | ".join(_line(c) for c in cells[:-1]) + f" | {links} |")
    return "\n".join(lines) + "\n"


CSS = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
       "padding:.3em .6em;vertical-align:top;overflow-wrap:anywhere}th{background:#eee}"
       ".failed{color:#c62828}.converged{color:#2e7d32}.planned,.not-converged,.no-result{color:#b26a00}")


def page(rows: list[dict], title: str) -> str:
    """One self-contained HTML page: inline CSS, no script, every value escaped."""
    e = html.escape
    count = ", ".join(f"{n} {e(s)}" for s, n in sorted(totals(rows).items()))
    body = []
    for r in rows:
        links = " ".join(f'<a href="{e(quote(r["host"]))}/{e(f)}">{e(f.split(".")[-1])}</a>' for f in r["files"])
        cls = r["state"].replace(" ", "-")
        body.append(f"<tr><td>{e(r['host'])}</td><td class=\"{cls}\">{e(r['state'])}</td><td>{e(r['target'])}</td>"
                    f"<td>{r['changes']}</td><td>{'yes' if r['rebooted'] else 'no'}</td>"
                    f"<td>{e(r['second_run'])}</td><td>{e(r['message'])}</td><td>{links}</td></tr>")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{e(title)}</title><style>{CSS}</style>"
            f"</head><body><h1>{e(title)}</h1><p>{_hosts(rows)}: {count or 'none'}</p><table><tr><th>host</th>"
            "<th>state</th><th>target</th><th>changes</th><th>rebooted</th><th>second run</th><th>message</th>"
            "<th>reports</th></tr>\n" + "\n".join(body) + "\n</table></body></html>\n")
