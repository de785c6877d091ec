"""The xenbook command: plan, apply, run, report, lab, unlock, prune, and the commands other packages add (the sample
host's sample and reboot)."""

from __future__ import annotations

import functools
import json
import os
import shlex
import sys
from importlib.metadata import entry_points

import click
import yaml
from rich.console import Console
from rich.markup import escape

from xenbook import __version__
from xenbook.cli import doctor, restore_command, workspace, workspace_commands
from xenbook.cli.confirm import asks, confirm
from xenbook.cli.options import WAIT
from xenbook.cli.run import run_notebooks
from xenbook.connectors.targets import open_host
from xenbook.core.masks import MASK, secret_name
from xenbook.core.errors import ParameterError, TargetError, XenbookError
from xenbook.engine import strict_yaml
from xenbook.engine.backups import plan_pruning, prune_locked
from xenbook.engine.ledger import unlock as remove_lock
from xenbook.engine.params import RunbookParams, build, load_file, merge
from xenbook.engine.registry import run_sections
from xenbook.engine.runner import run_id
from xenbook.report.console import LiveSteps, print_readiness
from xenbook.report.host import write

COMMANDS = "xenbook.commands"  # entry points naming click commands other packages add

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_REBOOT = 1, 2, 3  # exit 0: all went well
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes pending (as terraform plan -detailed-exitcode)


def _set_pairs(pairs: tuple[str, ...]) -> dict:
    """--set boot.dom0_mem=4G pairs as a nested mapping (values read as YAML scalars)."""

    out: dict = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        names = key.split(".")
        pair = f"{key}={MASK}" if secret_name(key) and value else pair  # as messages show it
        if not eq or not all(names):
            raise ParameterError([("--set", pair, "must be NAME=VALUE, e.g. boot.dom0_mem=4096M")])
        node = out
        for depth, p in enumerate(names[:-1]):
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ParameterError([("--set", pair, f"sets a parameter inside {'.'.join(names[:depth + 1])}, "
                                                      "which another --set gives a value: set one or the other")])
        if isinstance(node.get(names[-1]), dict):
            raise ParameterError([("--set", pair, f"gives {key} a value, and another --set sets a parameter inside "
                                                  "it: set one or the other")])
        try:
            node[names[-1]] = strict_yaml.load(value) if value else ""
        except yaml.YAMLError:
            node[names[-1]] = value
        except strict_yaml.Refused as e:
            raise ParameterError([("--set", pair, f"its value {e}")]) from None
    return out


def load_params(params_file, target, sections, sets, sudo=None, ssh_config=None, *,
                applying: bool = False) -> RunbookParams:
    """Parameters from the YAML file, then the command line; ParameterError on any bad value, and, when applying,
    when neither names the target (an apply never falls back to the default target)."""

    data = load_file(params_file) if params_file else {}
    chosen = [s.strip() for s in sections.split(",") if s.strip()] if sections is not None else None
    if chosen == []:  # `--sections "$EMPTY"` must not widen to every section
        raise ParameterError([("--sections", sections, "names no section: name at least one (e.g. boot), or leave "
                                                       "--sections out to run every section")])
    cli = {"target": target, "sudo": sudo, "ssh_config": ssh_config, "sections": chosen}
    merged = merge(merge(data, cli), _set_pairs(sets))
    if applying and merged.get("target") is None:
        raise ParameterError([("target", None, (
            f"is not named{f' in {params_file}' if params_file else ''}: an apply changes the host its target "
            "names and never falls back to the default (the simulated sample host); pass --target (local, "
            "ssh:root@HOST, chroot:DIR or sample) or put target: in the parameters file"))])
    return build(RunbookParams, merged)


def target_options(f):
    @click.option("--target", "-t", help="local, ssh:[user@]host[:port], chroot:DIR or sample[:DIR] (default sample)")
    @click.option("--params", "params_file", type=click.Path(dir_okay=False),
                  help="YAML parameters file for the host")
    @click.option("--sections", "-s", help="comma list of sections, e.g. boot (default: all)")
    @click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="override one parameter")
    @click.option("--sudo/--no-sudo", default=None, help="run commands through sudo")
    @click.option("--ssh-config", type=click.Path(dir_okay=False), help="ssh_config file for ssh targets")
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)
    return wrapper


def guarded(f):
    """Turn xenbook errors into messages and the documented exit codes (with plan --detailed-exitcode every error
    exits 1, as exit 2 means changes pending there)."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except ParameterError as e:
            click.echo(f"xenbook: {e}", err=True)
            sys.exit(EXIT_FAILED if kwargs.get("detailed") else EXIT_BAD_INPUT)
        except TargetError as e:
            click.echo(f"xenbook: cannot use the target: {e}", err=True)
            sys.exit(EXIT_FAILED)
        except XenbookError as e:
            click.echo(f"xenbook: {e}", err=True)
            sys.exit(EXIT_FAILED)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xenbook")
def main():
    """Install, run and document Xen on Arch Linux, step by step."""


def _plan_or_apply(dry_run: bool, as_json: bool, report_file: str | None, wait: float = 0.0, *,
                   detailed: bool = False, yes: bool = True, **opts):



    params = load_params(**opts, applying=not dry_run)
    console = Console(stderr=as_json)
    with open_host(params.target, sudo=params.sudo, ssh_config=params.ssh_config) as host:
        if not dry_run and not yes and asks():
            confirm(console, host, params)
        live = LiveSteps(console, every_header=not dry_run, results=not as_json)
        try:
            report = run_sections(host, params, dry_run=dry_run, wait=wait, **live.callbacks())
        finally:
            live.close()
    if report_file:
        report.save(report_file)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_readiness(console, report)
        console.print(report.summary(), highlight=False)
        if report.tools_line():
            console.print(report.tools_line(), highlight=False)
        if report.reboot_required:
            console.print(f"[bold]reboot needed[/]: {escape(report.reboot_required)}", highlight=False)
        for i in report.interrupted:
            console.print(f"[bold red]interrupted[/]: step {escape(i['step'])} of section {escape(i['section'])} "
                          f"(run {i['run']}, started {i['started']}) never finished: its process died; "
                          "this run planned it afresh from the host's state", highlight=False)
    if report.failed:
        sys.exit(EXIT_FAILED)
    if report.reboot_required and not dry_run:  # a plan only says so; an apply stops here (pending, not failed)
        sys.exit(EXIT_REBOOT)
    if detailed and (report.count("would-change") or report.reboot_required):
        sys.exit(EXIT_CHANGES)


YES = click.option("--yes", "-y", is_flag=True,
                   help="apply without asking (at a terminal an apply shows the plan and asks first; without a "
                        "terminal it never asks)")


@main.command()
@target_options
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), help="also save the report as JSON")
@click.option("--detailed-exitcode", "detailed", is_flag=True,
              help="exit 0 when nothing would change, 2 when changes are pending (a reboot pending too), 1 on any "
                   "error or failed step (bad input too)")
@guarded
def plan(as_json, report_file, detailed, **opts):
    """Show what would change (a dry run: reads everything, writes nothing)."""
    _plan_or_apply(True, as_json, report_file, detailed=detailed, **opts)


@main.command()
@target_options
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), help="also save the report as JSON")
@WAIT
@YES
@guarded
def apply(as_json, report_file, wait, yes, **opts):
    """Make the changes the plan shows, with backups and validation."""
    _plan_or_apply(False, as_json, report_file, wait, yes=yes, **opts)


@main.command()
@target_options
@click.option("--apply", "do_apply", is_flag=True, help="apply the changes (default: dry run)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="folder for executed notebooks")
@WAIT
@YES
@guarded
def run(do_apply, out_dir, wait, yes, **opts):
    """Run the section notebooks unattended with papermill; keep the executed notebooks and a report."""


    params = load_params(**opts, applying=do_apply)
    params.dry_run = not do_apply
    console = Console()
    if do_apply and not yes and asks():
        with open_host(params.target, sudo=params.sudo, ssh_config=params.ssh_config) as host:
            confirm(console, host, params)
    out_dir = out_dir or workspace.run_folder(opts.get("params_file"))  # a workspace's runs/<time>/
    outcome = run_notebooks(params, out_dir=out_dir, params_file=opts.get("params_file"), wait=wait,
                            console=console)
    unindexed = workspace.index_run(opts.get("params_file"), outcome.out_dir, params.target)  # latest, index
    if unindexed:
        click.echo(f"xenbook: {unindexed}", err=True)
    click.echo(outcome.summary(again=shlex.join(["xenbook", *sys.argv[1:]])))
    sys.exit(outcome.exit_code)


@main.command("report")
@target_options
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              help="the HTML file (default xenbook-report.html); its Markdown twin is written beside it (.md)")
@guarded
def host_report(out_file, **opts):
    """Describe the host's Xen setup in one self-contained HTML page and a Markdown twin (reads only)."""

    params = load_params(**opts)
    plan = bool(opts.get("params_file") or opts.get("sections") or opts.get("sets"))  # a dry run of those, too
    html_path, md_path = write(params, out_file, plan=plan)
    click.echo(f"wrote {html_path} and {md_path}")


@main.command()
@click.option("--target", "-t", required=True, help="the target whose lock to remove")
@click.option("--run", "run_id", required=True, help="the run id the lock names (xenbook prints it)")
@click.option("--sudo/--no-sudo", default=False, help="run commands through sudo")
@click.option("--ssh-config", type=click.Path(dir_okay=False), help="ssh_config file for ssh targets")
@guarded
def unlock(target, run_id, sudo, ssh_config):
    """Remove the lock a dead run left on the target (only the run named, and never one still running here)."""

    with open_host(target, sudo=sudo, ssh_config=ssh_config) as host:
        holder = remove_lock(host, run_id)
    click.echo(f"removed the lock of run {holder.run} (pid {holder.pid} on {holder.host} since {holder.since}); "
               "the next run reports the steps it left unfinished as interrupted")


@main.command("prune")
@click.option("--target", "-t", help="local, ssh:[user@]host[:port], chroot:DIR or sample[:DIR] (default sample)")
@click.option("--params", "params_file", type=click.Path(dir_okay=False), help="YAML parameters file for the host")
@click.option("--keep", type=int, default=None, metavar="N",
              help="keep the backups of the newest N runs (default: keep_backups from the parameters, 10)")
@click.option("--apply", "do_apply", is_flag=True, help="remove them (default: dry run, list what would go)")
@click.option("--sudo/--no-sudo", default=None, help="run commands through sudo")
@click.option("--ssh-config", type=click.Path(dir_okay=False), help="ssh_config file for ssh targets")
@WAIT
@guarded
def prune_backups(target, params_file, keep, do_apply, sudo, ssh_config, wait):
    """Remove the backups of all but the newest runs (a dry run unless --apply; under the lock, in the ledger)."""

    params = load_params(params_file, target, None, (), sudo=sudo, ssh_config=ssh_config)
    keep = keep if keep is not None else params.keep_backups
    if keep is None:
        raise ParameterError([("keep", "null", "keep_backups is null (keep every backup): pass --keep N to prune")])
    with open_host(params.target, sudo=params.sudo, ssh_config=params.ssh_config) as host:
        pruning = prune_locked(host, keep, run_id(), wait=wait) if do_apply else plan_pruning(host, keep)
    for folder in pruning.removed:
        click.echo(f"{'removed' if do_apply else 'would remove'} {folder}")
    click.echo(pruning.summary(do_apply) + ("" if do_apply or not pruning.removed else "; run again with --apply"))


def _guard_all(command: click.Command) -> click.Command:
    """command with guarded callbacks, its subcommands too: another package's errors exit as xenbook's do."""
    if command.callback:
        command.callback = guarded(command.callback)
    for sub in getattr(command, "commands", {}).values():
        _guard_all(sub)
    return command


for _command in (workspace_commands.init, workspace_commands.lab, restore_command.restore, doctor.doctor):
    main.add_command(_guard_all(_command))

for _ep in entry_points(group=COMMANDS):  # commands other packages add, e.g. the sample host's sample and reboot
    main.add_command(_guard_all(_ep.load()), _ep.name)


if __name__ == "__main__":
    main()
