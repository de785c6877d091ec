"""`xenbook init` and `xenbook lab`: a workspace per host, and JupyterLab opened on it (the xenbook command adds
these, its errors and exit codes applying)."""

from __future__ import annotations

import os
import sys

import click

from xenbook.cli import workspace
from xenbook.core.errors import ParameterError
from xenbook.engine.params import RunbookParams, build


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--params", "params_file", type=click.Path(dir_okay=False, exists=True),
              help="the host's YAML parameters file to copy in as params.yaml")
@click.option("--target", "-t", help="the target a new params.yaml names (without --params; default sample)")
def init(directory, params_file, target):
    """Make a workspace for one host: params.yaml, the section notebooks reading it, a start page and runs/
    (again: refresh the notebooks left unchanged, keep the params file and every edited notebook)."""

    if params_file and target:
        raise ParameterError([("--target", target, "goes with a new params.yaml only: with --params, the file's "
                                                   "target: names the host")])
    if target:
        build(RunbookParams, {"target": target})  # names the rule a bad target breaks, before anything is made
    click.echo(str(workspace.init(directory, params_file, target)))


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--params", "params_file", type=click.Path(dir_okay=False, exists=True),
              help="the host's parameters file: open the workspace it is the params.yaml of, or make one beside it "
                   "(xen1.yaml: xen1/); default the sample host's workspace")
@click.option("--port", default=8888, show_default=True)
@click.option("--ip", default="127.0.0.1", show_default=True)
@click.option("--no-browser", is_flag=True)
@click.argument("jupyter_args", nargs=-1, type=click.UNPROCESSED)
def lab(params_file, port, ip, no_browser, jupyter_args):
    """Open JupyterLab on a host's workspace, at its start page (never on the installed notebooks themselves).
    JUPYTER_ARGS go to jupyter lab after `--`; the token is JupyterLab's own (it prints the URL; JUPYTER_TOKEN sets
    it)."""

    if params_file:
        root, made = workspace.for_params(params_file)
    else:
        root = workspace.sample_workspace()
        made = workspace.init(root, None if (root / workspace.PARAMS).exists() else str(workspace.sample_params()))
    if made is None:
        made = workspace.init(root)
    click.echo(str(made), err=True)
    argv = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}", f"--port={port}",
            f"--ServerApp.ip={ip}", f"--LabApp.default_url=/lab/tree/{workspace.START_NOTEBOOK}"] + (
        ["--no-browser"] if no_browser else []) + list(jupyter_args)
    os.chdir(root)
    os.execv(sys.executable, argv)
