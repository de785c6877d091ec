"""Options more than one command takes."""

from __future__ import annotations

import math

import click


class Seconds(click.FloatRange):
    """A finite number of seconds, 0 or more (click's FloatRange lets nan and inf through)."""

    name = "seconds"

    def convert(self, value, param, ctx):
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return seconds


WAIT = click.option("--wait", type=Seconds(min=0), default=0.0, metavar="SECONDS",
                    help="wait up to SECONDS for another run's lock on the target (default: fail at once)")
