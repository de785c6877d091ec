"""`xenbook doctor`: the doctor section's evidence and findings for one host, read-only (the xenbook command adds
it, its errors and exit codes applying). Exit 0: nothing in the catalogue matched; 1: a finding (or an error);
2: bad input."""

from __future__ import annotations

import json
import sys

import click

from xenbook.connectors.targets import open_host
from xenbook.engine.params import RunbookParams, build, load_file, merge
from xenbook.safety.redact import redact
from xenbook.sections.doctor.catalogue import AREAS
from xenbook.sections.doctor.steps import evidence, findings, healthy

EXIT_FINDINGS = 1


def examine(params: RunbookParams) -> dict:
    """The doctor's answer for params' target: each area's state, the findings, the sources it could not read."""
    with open_host(params.target, sudo=params.sudo, ssh_config=params.ssh_config) as host:
        lines = params.doctor.journal_lines
        ev, found = evidence(host, lines), findings(host, lines)
        label = host.label
    areas = {}
    for area in AREAS:
        mine = [f.signature.id for f in found if f.signature.area == area]
        areas[area] = {"healthy": not mine, "summary": healthy(area, ev) if not mine else
                       f"{len(mine)} finding{'s' if len(mine) > 1 else ''}: {', '.join(mine)}"}
    return {"target": label, "areas": areas, "findings": [f.to_dict() for f in found],
            "unreadable": {name: redact(why) for name, why in sorted(ev.unreadable.items())}}


def render(result: dict) -> str:
    out = [f"xenbook doctor: {result['target']}"]
    out += [f"{area}: {a['summary']}" for area, a in result["areas"].items()]
    for f in result["findings"]:
        out += ["", f"[{f['area']}] {f['id']}: {f['title']}", f"  cause: {f['cause']}", "  evidence:"]
        out += [f"    {line}" for line in f["evidence"]] or ["    (none)"]
        out.append(f"  fix: {f['fix']}")
        if f["step"]:
            out.append(f"  the safe change: {f['step']}")
        out.append(f"  source: {'; '.join(f['source'])}")
    if result["unreadable"]:
        out += ["", "could not read (evidence too):"]
        out += [f"  {name}: {why}" for name, why in result["unreadable"].items()]
    return "\n".join(out)


@click.command()
@click.option("--target", "-t", help="local, ssh:[user@]host[:port], chroot:DIR or sample[:DIR] (default sample)")
@click.option("--params", "params_file", type=click.Path(dir_okay=False), help="YAML parameters file for the host")
@click.option("--json", "as_json", is_flag=True, help="print the findings as JSON")
@click.option("--sudo/--no-sudo", default=None, help="run commands through sudo")
@click.option("--ssh-config", type=click.Path(dir_okay=False), help="ssh_config file for ssh targets")
def doctor(target, params_file, as_json, sudo, ssh_config):
    """Name what went wrong with Xen on the host, why, and the fix (reads only; runs in any state). Exit 0 when
    nothing in the catalogue matched, 1 when something did."""

    data = load_file(params_file) if params_file else {}
    params = build(RunbookParams, merge(data, {"target": target, "sudo": sudo, "ssh_config": ssh_config}))
    result = examine(params)
    click.echo(json.dumps(result, indent=2) if as_json else render(result))
    if result["findings"]:
        sys.exit(EXIT_FINDINGS)
