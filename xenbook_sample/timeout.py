"""The sample host's `timeout DURATION COMMAND...`: the simulated programs never hang, so the command just runs."""

from __future__ import annotations

import re

from xenbook.core.commands import Command, Result
from xenbook_sample.options import Usage


def timeout(host, argv, stdin) -> Result:
    args = argv[1:]
    if len(args) < 2 or not re.fullmatch(r"\d+(\.\d+)?[smhd]?", args[0]):
        raise Usage("timeout: [simulated] xenbook's sample host simulates only 'timeout DURATION COMMAND [ARG]...'\n",
                    125)
    from xenbook_sample.programs import run_program  # programs imports this module
    return run_program(host, Command(tuple(args[1:]), stdin))


PROGRAMS = {"timeout": timeout}
