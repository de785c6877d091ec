"""The sample host's `ln`: symbolic links inside the simulated tree (absolute targets stay inside it)."""

from __future__ import annotations

import os

from xenbook.core.commands import Result
from xenbook_sample.options import Usage, options


def ln(host, argv, stdin) -> Result:
    opts, args = options("ln", argv, "sfnT", ["symbolic", "force", "no-dereference", "no-target-directory"])
    flags = {o.lstrip("-")[:1] for o, _ in opts}
    if "s" not in flags or len(args) != 2:
        raise Usage("ln: xenbook's sample host simulates only 'ln -s[f][n] TARGET LINK_NAME'\n", 1)
    target, link = args
    folder = host.real(os.path.dirname(link) or "/")
    if not os.path.isdir(folder):
        return Result(1, "", f"ln: failed to create symbolic link '{link}': No such file or directory\n")
    real = folder + "/" + os.path.basename(link)
    if os.path.lexists(real):
        if "f" not in flags:
            return Result(1, "", f"ln: failed to create symbolic link '{link}': File exists\n")
        if os.path.isdir(real) and not os.path.islink(real):
            return Result(1, "", f"ln: cannot overwrite directory '{link}'\n")
        os.unlink(real)
    os.symlink(target, real)
    return Result(0, "", "")


PROGRAMS = {"ln": ln}


def readlink(host, argv, stdin) -> Result:
    """readlink FILE: the target of a symbolic link; exit 1 and no output for anything else, as coreutils'."""
    opts, args = options("readlink", argv, "", [])
    if len(args) != 1:
        raise Usage("readlink: [simulated] xenbook's sample host simulates only 'readlink FILE'\n", 1)
    real = host.real(os.path.dirname(args[0]) or "/") + "/" + os.path.basename(args[0])
    if not os.path.islink(real):
        return Result(1, "", "")
    return Result(0, os.readlink(real) + "\n", "")


PROGRAMS["readlink"] = readlink
