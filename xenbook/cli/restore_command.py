"""`xenbook restore --target T --run RUN [--apply]`: put back every file a run replaced, from its backups, checked
against the ledger's digests (xenbook.engine.restore); a dry run showing the diffs unless --apply, which goes through
the runner as an apply does (validation, backups of the current files, the lock, the ledger)."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.markup import escape

from xenbook.cli.options import WAIT
from xenbook.connectors.targets import open_host
from xenbook.engine.restore import restore_steps
from xenbook.engine.runner import Runner
from xenbook.report.console import LiveSteps

EXIT_FAILED = 1


@click.command()
@click.option("--target", "-t", required=True,
              help="the host: local, ssh:[user@]host[:port], chroot:DIR or sample[:DIR]")
@click.option("--run", "run", required=True, help="the run id whose changes to undo (its backups' folder name)")
@click.option("--apply", "do_apply", is_flag=True, help="restore the files (default: a dry run showing the diffs)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--sudo", is_flag=True, default=None, help="run commands through sudo -n (local and ssh targets)")
@click.option("--ssh-config", type=click.Path(dir_okay=False), help="ssh_config file for ssh targets")
@WAIT
def restore(target, run, do_apply, as_json, sudo, ssh_config, wait):
    """Put back every file RUN replaced from its backups, and remove the files it created while they still hold
    what it wrote, each checked against the ledger (a dry run unless --apply)."""

    console = Console(stderr=as_json)
    with open_host(target, sudo=bool(sudo), ssh_config=ssh_config) as host:
        steps = restore_steps(host, run)
        live = LiveSteps(console, every_header=do_apply, results=not as_json)
        try:
            report = Runner(host, dry_run=not do_apply, wait=wait, **live.callbacks()).run(steps)
        finally:
            live.close()
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        console.print(report.summary(), highlight=False)
        if not do_apply and report.count("would-change"):
            console.print(f"a dry run: run again with --apply to restore run {escape(run)}", highlight=False)
    if report.failed:
        sys.exit(EXIT_FAILED)
