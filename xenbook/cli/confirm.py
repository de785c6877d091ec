"""The question an apply asks at a terminal before it changes anything: the plan first, then "Apply these N changes
to TARGET? [y/N]"; never asked without a terminal (cron, CI, Ansible) or with --yes."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.markup import escape

from xenbook.core.errors import XenbookError
from xenbook.core.host import Host
from xenbook.engine.params import RunbookParams
from xenbook.engine.registry import run_sections
from xenbook.report.console import LiveSteps


class Declined(XenbookError):
    """The person at the terminal answered no to the confirmation."""


def asks() -> bool:
    """Whether an apply asks before it changes anything: only when a person is at a terminal, reading stdin and
    seeing stderr (where the question goes); cron, CI and Ansible (no terminal), and output captured whole, are
    never asked."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm(console: Console, host: Host, params: RunbookParams) -> None:
    """Plan first (a dry run: reads only), show the steps that would change, then ask; Declined unless the answer
    is yes. Nothing to change (a reboot pending at most): nothing to ask, the apply says so itself."""
    live = LiveSteps(console, every_header=False, changes_only=True)
    try:
        plan = run_sections(host, params, dry_run=True, **live.callbacks())
    finally:
        live.close()
    changes = plan.count("would-change")
    if not changes:
        return
    console.print(plan.summary(), highlight=False)
    if plan.reboot_required:
        console.print(f"[bold]reboot needed[/] after this apply: {escape(plan.reboot_required)}", highlight=False)
    try:
        yes = click.confirm(f"Apply these {changes} change{'' if changes == 1 else 's'} to {params.target}?",
                            default=False, err=True)
    except click.Abort:  # the end of input (Ctrl+D) or Ctrl+C at the question
        click.echo("", err=True)
        raise Declined("not applied: no answer (the input ended, or Ctrl+C), and nothing was changed (--yes "
                       "applies without asking)") from None
    if not yes:
        raise Declined("not applied: the answer was no, and nothing was changed (--yes applies without asking)")
