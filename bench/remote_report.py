"""The remote part in RESULTS.md: a "Remote" table (each figure, its target, met or missed, and why) and the
figures over SSH per tool, with the SSH sessions the loopback sshd served each run."""

from __future__ import annotations

from measure import fmt

TOOLS = ("xenbook", "pyinfra", "ansible")
CASES = (("check", "check (dry run), fresh tree"), ("apply", "apply, fresh tree"),
         ("converged_apply", "re-apply, converged tree"), ("converged_check", "check, converged tree"))
EDIT_TARGETS = (("pyinfra", 5), ("ansible", 30))
PLAN_LIMIT_S = 1.5
SECTION_SESSIONS = 3
HEADER = ["figure", "measured", "target", "verdict", "why"]


def _n(x: float | None) -> str:
    return "n/a" if x is None else f"{x:g}"


def _trips(c: dict) -> str:
    """'27 sessions (1 connection), exchanges n/a' for one tool's case."""
    kinds = ", ".join(f"{n} {k}" for k, n in c["kinds"].items() if k != "command")
    return (f"{_n(c['sessions'])} sessions{f' of which {kinds}' if kinds else ''}, {_n(c['connections'])} new "
            f"connection{'' if c['connections'] == 1 else 's'}, exchanges {_n(c.get('exchanges'))}")


def _verdict(ok: bool, margin: str) -> str:
    return f"**met** ({margin} to spare)" if ok else f"**missed** by {margin}"


def _margin(a: float, b: float, unit: str) -> str:
    d = abs(a - b)
    return fmt(d) if unit == "s" else f"{d:.1f}{unit}" if d >= 1 else f"{d:.2f}{unit}"


def _ssh_cost(c: dict, cost: dict) -> str:
    """What xenbook's SSH traffic costs at this machine's prices: sessions and new connections."""
    if c.get("exchanges") is not None:
        return (f"its {_n(c['exchanges'])} requests go over {_n(c['sessions'])} session(s) of its agent, the "
                f"connection about {fmt(c['connections'] * cost['connect_s'])}")
    return (f"its {_n(c['sessions'])} ssh commands (SshHost without its agent: one per read, stat, listing, command, write "
            f"and validator) and {_n(c['connections'])} new connection cost about "
            f"{fmt(c['sessions'] * cost['median_s'] + c['connections'] * cost['connect_s'])} at {fmt(cost['median_s'])}"
            f" a session and {fmt(cost['connect_s'])} a connection here")


APPLY_WHY = (" (and an apply's durability: each file, backup, folder and ledger record is synced on the target "
             "before it goes on, which Ansible's copy and blockinfile and pyinfra's files operations do not do)")
PEER_WHY = {"ansible": "Ansible starts a Python module per task (over the control master its warm-up run left, "
                       "ControlPersist being its default, so it opens no connection of its own)",
            "pyinfra": "pyinfra runs shell commands for each operation's facts over its paramiko connection"}


def _edit_rows(r: dict) -> list[list[str]]:
    e, cost = r["edits"], r["session_cost"]
    out = []
    for key in ("check", "apply"):
        c = e[key]
        x = c["xenbook"]
        for tool, limit in EDIT_TARGETS:
            ratio = c[tool]["median"] / x["median"]
            why = (f"xenbook {fmt(x['median'])} ({_trips(x)}): {_ssh_cost(x, cost)}, the rest its start, "
                   f"planning and spawning{APPLY_WHY if key == 'apply' else ''}; {tool} {fmt(c[tool]['median'])} "
                   f"({_trips(c[tool])}): {PEER_WHY[tool]}; {limit}× needs xenbook at "
                   f"{fmt(c[tool]['median'] / limit)}")
            out.append([f"{e['files']} edits over SSH, {key.replace('_', ' ')}: faster than {tool}",
                        f"{ratio:.2f}×", f"≥ {limit}×", _verdict(ratio >= limit, _margin(ratio, limit, "×")), why])
    return out


def _plan_rows(r: dict) -> list[list[str]]:
    p, cost = r["plan"], r["session_cost"]
    whole = p["runbook"]
    out = []
    first = p.get("first", {})
    why = (f"{_trips(whole)}, statuses {_statuses(whole)}: {_ssh_cost(whole, cost)}; the rest is the CLI's start "
           f"and planning{_first(first.get('runbook'))}")
    out.append(["whole-runbook plan over SSH (this machine, cold process)",
                f"{fmt(whole['median'])} (fastest {fmt(whole['min'])})", f"< {PLAN_LIMIT_S} s",
                _verdict(whole["median"] < PLAN_LIMIT_S, _margin(whole["median"], PLAN_LIMIT_S, "s")), why])
    for name in p["sections"]:
        s = p[name]
        n, x = s["sessions"], s.get("exchanges")
        trips = n if x is None else max(n, x)  # a session is a round trip, and so is each exchange over it
        why = (f"{fmt(s['median'])}, statuses {_statuses(s)}; "
               + ("one session carries the agent; the plan's reads came in its batch, the exchanges are the batch and "
                  "what it did not hold" if x is not None
                  else "one ssh session per read, stat, listing and command")
               + _first(first.get(name)))
        out.append([f"SSH round trips, `xenbook plan -s {name}`", f"{_n(n)} sessions, {_n(x)} exchanges",
                    f"≤ {SECTION_SESSIONS}",
                    _verdict(trips <= SECTION_SESSIONS, f"{abs(trips - SECTION_SESSIONS):g} round trips"), why])
    return out


def _first(f: dict | None) -> str:
    """What the first plan of a target cost, before it had a read-ahead memory."""
    if not f or f.get("exchanges") is None:
        return ""
    return (f"; the first plan of the target (nothing to read ahead yet): {_n(f['sessions'])} session(s), "
            f"{_n(f['exchanges'])} exchanges")


def _statuses(c: dict) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(c["statuses"].items()))


def _fleet_rows(r: dict) -> list[list[str]]:
    f = r.get("fleet") or {}
    if "skipped" in f:
        return [["fleet plan through xenbook.xen.runbook, 10 and 30 hosts", f["skipped"], "a time per host", "—",
                 "the collection is written in parallel; bench/remote_fleet.py measures it once it is in the tree"]]
    out = []
    for n in ("10", "30"):
        if n in f:
            x = f[n]
            out.append([f"fleet plan through xenbook.xen.runbook, {n} sample hosts, forks {f['forks']}",
                        f"{fmt(x['per_host_s'])} per host ({fmt(x['seconds'])} in all)", "a time per host",
                        "measured", "one check-mode play, ansible_connection=local: each host's module runs "
                        f"`xenbook plan` of its sample host, {f['forks']} at a time "
                        f"({x.get('hosts_with_changes', '?')} of {n} hosts reported the changes a fresh sample host "
                        "has to plan); no target was set for it"])
    return out


def rows(data: dict) -> list[list[str]]:
    r = data.get("remote")
    if not r:
        return []
    if "skipped" in r:
        return [["the remote part (edits, plans and fleet over SSH)", r["skipped"], "", "—", ""]]
    return _edit_rows(r) + _plan_rows(r) + _fleet_rows(r)


def figure_rows(data: dict) -> list[list[str]]:
    """Rows for the main figures table: [case, xenbook, pyinfra, ansible, p÷x, a÷x, runs]."""
    r = data.get("remote")
    if not r or "skipped" in r:
        return []
    e = r["edits"]
    out = []
    for key, label in CASES:
        c = e[key]
        out.append([f"over SSH, runbook edits ({e['files']} files): {label}",
                    *(f"{fmt(c[t]['median'])} / {_n(c[t]['sessions'])} sessions" for t in TOOLS),
                    f"{c['pyinfra']['median'] / c['xenbook']['median']:.1f}×",
                    f"{c['ansible']['median'] / c['xenbook']['median']:.1f}×",
                    "/".join(str(c[t]["n"]) for t in TOOLS)])
    p = r["plan"]
    for name in ["runbook"] + list(p["sections"]):
        label = "whole runbook" if name == "runbook" else f"-s {name}"
        out.append([f"over SSH, xenbook plan, {label}", f"{fmt(p[name]['median'])} / {_n(p[name]['sessions'])} "
                    "sessions", "", "", "", "", str(p[name]["n"])])
    return out


def section(data: dict, markdown_table) -> list[str]:
    """The "Remote" part of RESULTS.md (no lines when the part was not run)."""
    r = data.get("remote")
    if not r:
        return []
    if "skipped" in r:
        return ["## Remote (over SSH, a loopback sshd)", "", f"The remote part was {r['skipped']}.", ""]
    m = r.get("meta") or {}
    cost = r["session_cost"]
    return ["## Remote (over SSH, a loopback sshd)", "",
            (f"Measured {m.get('date', data['meta']['date'])} with {m.get('runs', data['meta']['runs'])} timed "
             f"runs per case ({r['openssh']}). The bench starts sshd on 127.0.0.1 with throwaway keys and "
             "`LogLevel VERBOSE`, and counts each run's SSH connections and sessions (`Starting session: command` "
             "or `subsystem 'sftp'`) in sshd's own log, the same way for all three tools. One `ssh HOST true` "
             f"through an open control master takes {fmt(cost['median_s'])} here (fastest {fmt(cost['min_s'])}; "
             f"a new connection {fmt(cost['connect_s'])}). Sessions start root's shell with HOME at an empty "
             "folder, so no rc file is part of a round trip. The whole-runbook plan reads this Debian machine "
             f"(with `--set {' --set '.join(r['plan']['sets'])}`: it has 2 CPUs): steps may fail or stop at the "
             "reboot point; what counts is the reads and their cost. xenbook's figures come with its own count "
             "(XENBOOK_SSH_STATS): exchanges are requests over the one session of its agent (a small Python program "
             "it sends to the host's python3), each one network round trip; a plan asks in one batch for what the "
             "last plan of the same sections on that target read, so a repeated plan is one session and one exchange, "
             "and the first plan of a target is counted apart."
            + _edits_note(data, r)), "",
            markdown_table(HEADER, rows(data)), ""]


def _edits_note(data: dict, r: dict) -> str:
    """A word when the edits are more than the local part's figures had (the runbook gained a file since)."""
    local = (data.get("edits") or {}).get("files")
    n = r["edits"]["files"]
    if local is None or local == n:
        return ""
    return (f" The edits are the `edits` part's, planned afresh by xenbook's steps: {n} files now, where the local "
            f"figures above had {local} (the bridge writes a fourth networkd file since, for the guests' "
            "interfaces).")
