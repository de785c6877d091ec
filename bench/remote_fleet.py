"""Fleet plans through the Ansible collection xenbook.xen: one check-mode play of its runbook module over 10 and
30 sample hosts, with forks, as seconds per host.

Each host is a simulated sample host (`xenbook sample init DIR`) and an inventory entry with
`ansible_connection=local` and `xenbook_target=sample:DIR`; the module runs `xenbook plan` on the node (here, this
machine) for its target. When ansible_collections/xenbook/xen is not in this tree the part says so and measures
nothing. The play is in play() alone, so the module's arguments can follow the collection as it changes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

import cases
import peers
import samples
from measure import run

COLLECTION = samples.REPO / "ansible_collections" / "xenbook" / "xen"
FLEETS = (10, 30)
FORKS = 10
ABSENT = "not measured: the collection is not in this tree"


def play(params: dict) -> list[dict]:
    """The play: xenbook.xen.runbook in check mode (a plan) on every host, for the host's own sample target."""
    return [{"hosts": "all", "gather_facts": False, "tasks": [{
        "name": "plan the runbook",
        "xenbook.xen.runbook": {"target": "{{ xenbook_target }}", "params": params,
                                "xenbook": str(samples.XENBOOK)},
        "check_mode": True}]}]


def inventory(hosts: dict[str, Path], out: Path) -> Path:
    out.write_text(json.dumps({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": cases.PY},
        "hosts": {name: {"xenbook_target": f"sample:{folder}"} for name, folder in hosts.items()}}}, indent=1))
    return out


def recap_ok(out: str, n: int) -> bool:
    """Every one of the n hosts reached, none failed, in the play's recap."""
    rows = re.findall(r"unreachable=(\d+)\s+failed=(\d+)", out)
    return len(rows) == n and all(u == "0" and f == "0" for u, f in rows)


def measure(work: Path, log, forks: int = FORKS) -> dict:
    """{hosts: {seconds, per_host_s, forks}} for each fleet size, or {"skipped": why}."""
    if not COLLECTION.is_dir():
        log(f"remote fleet: {ABSENT}")
        return {"skipped": ABSENT}
    work.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load(samples.PARAMS.read_text())
    params.pop("target", None)
    book = work / "fleet.yml"
    book.write_text(json.dumps(play(params), indent=1))
    env = {**peers.ansible_env(work), "ANSIBLE_COLLECTIONS_PATH": str(samples.REPO), **samples.env()}
    out: dict = {"forks": forks}
    made: dict[str, Path] = {}
    for n in FLEETS:
        for i in range(len(made), n):
            made[f"xen{i:02d}"] = samples.fresh(work / "hosts" / f"xen{i:02d}")
        hosts = dict(list(made.items())[:n])
        argv = [str(peers.VENV / "ansible-playbook"), "-i", str(inventory(hosts, work / f"inventory-{n}.json")),
                "--forks", str(forks), str(book)]
        r = run(argv, env=env, cwd=str(work))
        if r.code != 0 or not recap_ok(r.out, n):
            raise cases.GateFailed(f"the fleet play over {n} sample hosts failed (exit {r.code}):\n"
                                   f"{r.out[-3000:]}\n{r.err[-2000:]}")
        changed = len(re.findall(r"\bchanged=[1-9]", r.out))  # a fresh sample host has changes to plan
        out[str(n)] = {"seconds": r.wall, "per_host_s": r.wall / n, "cpu": r.cpu, "hosts_with_changes": changed}
        log(f"remote fleet: {n} hosts, forks {forks}: {r.wall:.2f} s, {r.wall / n:.3f} s per host")
    return out


if __name__ == "__main__":  # a trial alone: python bench/remote_fleet.py
    where = Path(__file__).resolve().parent / "work" / "fleet"
    print(json.dumps(measure(where, cases.log_to_stderr), indent=1))
