"""What the manage section adds to the sample host's SIMULATED tools: `xl uptime` (other verbs go to xl.py's xl)
and `rm -f` for the /etc/xen/auto links (with -r for the folders of clones the install section clones again)."""

from __future__ import annotations

import os
import shutil
import time

from xenbook.core.commands import Result
from xenbook_sample import xl as xltool
from xenbook_sample.options import Usage, options


def uptime_text(seconds: int, short: bool = False) -> str:
    """An uptime as xl prints it (tools/xl/xl_info.c uptime_to_string): [D day(s), ]H:MM:SS, or without the
    seconds for `xl uptime -s`."""
    days, rest = divmod(seconds, 86400)
    clock = f"{rest // 3600:2d}:{rest % 3600 // 60:02d}" + ("" if short else f":{rest % 60:02d}")
    return (f"{days} day{'s' if days > 1 else ''}, " if days else "") + clock


def uptime(host, state: dict, args: list[str]) -> Result:
    """xl uptime [-s] [DOMAIN...]: the table (Name, ID, Uptime) or one short line per domain."""
    short = "-s" in args
    names = [a for a in args if not a.startswith("-")]
    doms = xltool.all_domains(state)
    if names:
        found = [xltool.find(state, n) for n in names]
        if None in found:
            return xltool._no_domain(names[found.index(None)])
        doms = found
    now, booted = time.time(), state["running"]["booted_at"]
    rows = []
    for d in doms:
        since = d.get("created_at") or d.get("run_since") or booted
        text = uptime_text(max(0, int(now - since)), short)
        rows.append(f" {time.strftime('%H:%M:%S', time.localtime(now))} up {text}, {d['name']} ({d['domid']})\n"
                    if short else f"{d['name']:<33} {d['domid']:>4} {text}\n")
    head = "" if short else f"{'Name':<33} {'ID':>4} Uptime\n"
    return Result(0, head + "".join(rows), "")


def xl(host, argv, stdin) -> Result:
    """xl with the verbs the dashboard reads; everything else is xl.py's simulation."""
    args = [a for a in argv[1:] if not (a.startswith("-") and a not in ("-s", "-h", "--help"))]
    if args[:1] == ["uptime"]:
        state, problem = xltool.context(host)
        if problem is not None:
            return problem
        return uptime(host, state, args[1:])
    return xltool.xl(host, argv, stdin)


def rm(host, argv, stdin) -> Result:
    """rm -f [-r] PATH...: remove files or links, and with -r folders with all they hold (links not followed)."""
    opts, args = options("rm", argv, "fr", ["force", "recursive"])
    given = {o for o, _ in opts}
    if not given & {"-f", "--force"} or not args:
        raise Usage("[simulated] xenbook's sample host simulates only rm -f [-r] PATH...\n", 1)
    for path in args:
        real = host.real(os.path.dirname(path) or "/") + "/" + os.path.basename(path)
        if os.path.isdir(real) and not os.path.islink(real):
            if not given & {"-r", "--recursive"}:
                return Result(1, "", f"rm: cannot remove '{path}': Is a directory\n")
            shutil.rmtree(real)
        elif os.path.lexists(real):
            os.unlink(real)
    return Result(0, "", "")


PROGRAMS = {"xl": xl, "rm": rm}
