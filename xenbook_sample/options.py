"""Command lines of the sample host's simulated programs, parsed the way the real GNU tools parse them."""

from __future__ import annotations

import getopt


class Usage(Exception):
    """A command line the real tool would reject; args are (message, exit code)."""


def options(prog: str, argv: list[str], short: str, long: list[str], code: int = 1):
    """(list of (option, value), positionals) parsed GNU-style, or Usage with the real tool's complaint."""
    try:
        return getopt.gnu_getopt(argv[1:], short, long)
    except getopt.GetoptError as e:
        what = f"unrecognized option '--{e.opt}'" if len(e.opt) > 1 else f"invalid option -- '{e.opt}'"
        if "requires argument" in e.msg:
            what = f"option requires an argument -- '{e.opt}'"
        raise Usage(f"{prog}: {what}\nTry '{prog} --help' for more information.\n"
                    f"[simulated] xenbook's sample host simulates only some of {prog}'s options\n", code)
