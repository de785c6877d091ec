"""The sample host's commands, which xenbook's CLI adds through its xenbook.commands entry points:
`xenbook sample init DIR` and `xenbook reboot --target sample:DIR`."""

from __future__ import annotations

import json
import secrets
import sys
import time

import click

from xenbook.connectors.targets import parse_target
from xenbook.core.errors import ParameterError, TargetError
from xenbook.engine import lock
from xenbook_sample import PROFILES, init_sample
from xenbook_sample.boot import reboot as reboot_sample
from xenbook_sample.host import SampleHost, is_sample, made_by_another_version

EXIT_BAD_INPUT = 2


@click.command()
@click.option("--target", "-t", required=True, help="sample:DIR (a real machine you reboot yourself)")
@click.option("--json", "as_json", is_flag=True, help="print what the simulated boot did as JSON")
def reboot(target, as_json):
    """Reboot a sample host (SIMULATED): its boot loader picks an entry, which starts Xen or not."""
    t = parse_target(target)
    if t.kind != "sample":
        click.echo(f"xenbook: {t} is not a sample host: reboot the machine yourself (into the Xen entry), "
                   "then run the runbook again to check it", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if not is_sample(t.path):
        raise TargetError(f"{t.path} holds no sample host; create one with: xenbook sample init {t.path}")
    problem = made_by_another_version(t.path)
    if problem:
        raise TargetError(problem)
    host = SampleHost(t.path)
    run = time.strftime("reboot-%Y%m%dT%H%M%SZ-", time.gmtime()) + secrets.token_hex(3)
    lock.acquire(host, run)  # as an apply does: a reboot in the middle of one would leave it half done
    try:
        result = reboot_sample(host)
    finally:
        lock.release(host, run)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"[simulated] rebooted {t} (boot {result['boot']}); the entry chosen: '{result['entry']}'")
    if result["xen"]:
        x = result["xen_info"]
        click.echo(f"running Xen {x['version']} as dom0: {x['dom0_mem_mib']} MiB, {x['dom0_vcpus']} vCPUs; "
                   f"Xen's command line: {x['cmdline']}")
    else:
        click.echo(f"running without Xen: {result['why']}")


@click.group()
def sample():
    """The bundled sample host: a SIMULATED fresh Arch Linux machine in a directory."""


@sample.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--profile", default="bios-grub2", show_default=True, help="machine profile")
@click.option("--force", is_flag=True, help="recreate an existing sample host in DIRECTORY")
def sample_init(directory, profile, force):
    """Create a sample host in DIRECTORY."""
    if profile not in PROFILES:
        raise ParameterError([("--profile", profile, f"choose one of {', '.join(PROFILES)}")])
    host = init_sample(directory, profile=profile, force=force)
    click.echo(f"created {host.label} with profile {profile}")
