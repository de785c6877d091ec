# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""xenbook's command line for the runbook module, and its JSON report as an Ansible result: changed, failed with the
remedy, reboot_required, the per-step results and the diff. Pure functions: standard library only (they run under
the managed node's Python, beside Ansible's module_utils)."""

from __future__ import annotations

import math
import re

# The shapes and names xenbook masks (xenbook/core/masks.py; tests/test_ansible_collection.py keeps them equal):
# the module hands every such value to Ansible's no_log list, so not even the invocation echoes one.
PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(-----END \1-----|\Z)", re.S)
CRYPT = re.compile(r"\$(?:1|2[abxy]?|5|6|7|y|gy|sha1|md5)\$[./A-Za-z0-9$=,+-]{4,}")
PBKDF2 = re.compile(r"grub\.pbkdf2\.[A-Za-z0-9.]+")
SECRET_WORDS = r"password|passwd|passphrase|secret|token|psk|private_?key|pre_?shared_?key|api_?key"
SECRET_NAME = re.compile(rf"(?i)({SECRET_WORDS})")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

STEP_KEYS = ("section", "name", "status", "reason", "remedy", "commands", "validated", "unvalidated", "verdict",
             "value", "duration")


def secret_name(name) -> bool:
    """Whether a parameter called name may hold a secret (root_password, a token), not a path to one (*_file)."""
    leaf = str(name).rsplit(".", 1)[-1]
    return bool(SECRET_NAME.search(leaf)) and not leaf.lower().endswith("_file")


def secret_values(value, name: str = "", hidden: bool = False) -> set[str]:
    """Every value in value that is a secret, as Ansible's no_log list takes it (a string, the str of a number):
    each leaf at any depth under a secret-named key (tokens: {github: ...} too), and any string shaped like a crypt(3)
    or GRUB password hash or a PEM private key (the whole string, and the matched part). Empty strings, booleans and
    None are left out, as Ansible leaves them out of a no_log parameter's values (it cannot hide them)."""
    hidden = hidden or secret_name(name)
    if isinstance(value, dict):
        return set().union(*(secret_values(v, str(k), hidden) for k, v in value.items()))
    if isinstance(value, (list, tuple, set)):
        return set().union(*(secret_values(v, name, hidden) for v in value))
    if value is None or isinstance(value, bool) or value == "":
        return set()
    if hidden:
        return {value if isinstance(value, str) else str(value)}
    if not isinstance(value, str):
        return set()
    found = {m.group(0) for pattern in (PEM, CRYPT, PBKDF2) for m in pattern.finditer(value)}
    return found | ({value} if found else set())


def bad_env_names(env: dict) -> list[str]:
    """The keys of secret_env that are no environment variable's name."""
    return [str(k) for k in env if not ENV_NAME.match(str(k))]


def wait_problem(wait) -> str:
    """What is wrong with the module's wait (seconds to wait for another run's lock), or "" when nothing is."""
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not math.isfinite(wait) or wait < 0:
        return f"parameter wait = {wait!r}: must be a finite number of seconds, 0 or more (0: do not wait)"
    return ""


def command(xenbook: str, verb: str, params_path: str, target: str | None, sections: list | None,
            wait: float = 0.0) -> list[str]:
    """The argv of one xenbook run: verb is plan or apply; never a shell string."""
    argv = [xenbook, verb, "--params", params_path]
    if target:
        argv += ["--target", target]
    if sections is not None:
        argv += ["--sections", ",".join(sections)]
    if verb == "apply":
        argv += ["--yes", "--wait", str(wait)]
    return argv + ["--json"]


def _step(step: dict) -> dict:
    out = {k: step.get(k) for k in STEP_KEYS if k in step}
    out["paths"] = [d.get("path", "") for d in step.get("diffs", [])]
    return out


def _failure(step: dict) -> str:
    text = f"{step.get('section')}/{step.get('name')} failed: {step.get('reason') or 'no reason given'}"
    return text + (f"; remedy: {step['remedy']}" if step.get("remedy") else "")


def error_message(stderr: str) -> str:
    """xenbook's own message from its standard error (which also streams the steps' lines): from the last line it
    starts with "xenbook:" on, else the last lines."""
    lines = stderr.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("xenbook:")]
    return "\n".join(lines[starts[-1]:] if starts else lines[-20:]).strip()


def result(report: dict | None, rc: int, stderr: str, check_mode: bool, want_diff: bool) -> dict:
    """The module's result from xenbook's JSON report (None when it printed none: bad input, a lock, a target it
    cannot open; stderr then holds xenbook's message, which names the parameter, the value and the rule)."""
    message = error_message(stderr)
    if report is None:
        return {"changed": False, "failed": True, "rc": rc, "reboot_required": False, "steps": [],
                "msg": message.strip() or f"xenbook exited {rc} and printed no report"}
    steps = report.get("steps", [])
    counts: dict[str, int] = {}
    for s in steps:
        counts[s.get("status", "")] = counts.get(s.get("status", ""), 0) + 1
    change = "would-change" if check_mode else "changed"
    failed_steps = [s for s in steps if s.get("status") == "failed"]
    reboot = report.get("reboot_required") or ""
    out = {
        "changed": counts.get(change, 0) > 0,
        "failed": bool(failed_steps) or rc not in (0, 3),
        "rc": rc,
        "target": report.get("target", ""),
        "simulated": bool(report.get("simulated")),
        "dry_run": bool(report.get("dry_run")),
        "reboot_required": bool(reboot),
        "reboot_reason": reboot,
        "counts": counts,
        "interrupted": report.get("interrupted", []),
        "steps": [_step(s) for s in steps],
    }
    summary = ", ".join(f"{counts[s]} {s}" for s in ("ok", "would-change", "changed", "failed", "skipped")
                        if counts.get(s))
    if failed_steps:
        out["msg"] = "; ".join(_failure(s) for s in failed_steps)
    elif out["failed"]:
        out["msg"] = message or f"xenbook exited {rc}"
    else:
        out["msg"] = f"{out['target']}: {summary or 'no steps'}" + (f"; reboot needed: {reboot}" if reboot else "")
    if want_diff:
        out["diff"] = [{"prepared": d.get("diff", "")} for s in steps if s.get("status") == change
                       for d in s.get("diffs", []) if d.get("diff")]
    return out
