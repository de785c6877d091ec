"""The sample host's SIMULATED users and who runs what: runuser, env, useradd, getent, id, install, test, nproc.

Programs that care who runs them and where (git, makepkg, pacman) take a Context; runuser and env pass one on.
File owners the simulation cannot set on this machine are kept in the state's "owners" map."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from typing import Callable

from xenbook.core.commands import Command, Result
from xenbook_sample.options import Usage, options


@dataclass
class Context:
    """Who runs a simulated program, in which folder, with which extra environment variables."""

    user: str = "root"
    cwd: str = "/root"
    env: dict[str, str] = field(default_factory=dict)

    def path(self, name: str) -> str:
        return posixpath.normpath(name if name.startswith("/") else posixpath.join(self.cwd, name))


ContextProgram = Callable[[object, list[str], "bytes | None", Context], Result]
CONTEXT_PROGRAMS: dict[str, ContextProgram] = {}  # filled by the modules that simulate git, makepkg, pacman
NEEDS_PACKAGE = {"git": "git", "fakeroot": "base-devel"}  # programs a fresh Arch install does not have yet

# /etc/passwd of Arch's filesystem package (and a few system users a base install adds)
DEFAULT_PASSWD = """\
root:x:0:0::/root:/usr/bin/bash
bin:x:1:1::/:/usr/bin/nologin
daemon:x:2:2::/:/usr/bin/nologin
mail:x:8:12::/var/spool/mail:/usr/bin/nologin
ftp:x:14:11::/srv/ftp:/usr/bin/nologin
http:x:33:33::/srv/http:/usr/bin/nologin
nobody:x:65534:65534:Kernel Overflow User:/:/usr/bin/nologin
dbus:x:81:81:System Message Bus:/:/usr/bin/nologin
systemd-coredump:x:984:984:systemd Core Dumper:/:/usr/bin/nologin
systemd-network:x:982:982:systemd Network Management:/:/usr/bin/nologin
systemd-resolve:x:981:981:systemd Resolver:/:/usr/bin/nologin
alpm:x:973:973:Arch Linux Package Management:/:/usr/bin/nologin
"""


def dispatch(host, argv: list[str], stdin: bytes | None, ctx: Context) -> Result:
    """Run argv on the sample host as ctx says."""
    name = posixpath.basename(argv[0])
    package = NEEDS_PACKAGE.get(name)
    if package is not None:
        from xenbook_sample.packages import installed
        if package not in installed(host):
            return Result(127, "", f"{name}: command not found (SIMULATED host: install {package} first)\n")
    if name in CONTEXT_PROGRAMS:
        try:
            return CONTEXT_PROGRAMS[name](host, argv, stdin, ctx)
        except Usage as e:
            return Result(e.args[1], "", e.args[0])
    from xenbook_sample.programs import run_program
    return run_program(host, Command(tuple(argv), stdin))


# users

def passwd(host) -> list[list[str]]:
    text = host.read_text("/etc/passwd") or DEFAULT_PASSWD
    return [line.split(":") for line in text.splitlines() if line.count(":") == 6]


def user_entry(host, name: str) -> list[str] | None:
    return next((e for e in passwd(host) if e[0] == name), None)


def getent(host, argv, stdin) -> Result:
    if len(argv) < 2 or argv[1] != "passwd":
        raise Usage("getent: the SIMULATED sample host only knows the passwd database\n", 1)
    rows = passwd(host) if len(argv) == 2 else [e for k in argv[2:] for e in passwd(host) if k in (e[0], e[2])]
    return Result(0 if rows else 2, "".join(":".join(e) + "\n" for e in rows), "")


def id_(host, argv, stdin) -> Result:
    opts, args = options("id", argv, "ugn", [])
    entry = user_entry(host, args[0] if args else "root")
    if entry is None:
        return Result(1, "", f"id: \u2018{args[0]}\u2019: no such user\n")
    flags = {o for o, _ in opts}
    if "-u" in flags:
        return Result(0, (entry[0] if "-n" in flags else entry[2]) + "\n", "")
    return Result(0, f"uid={entry[2]}({entry[0]}) gid={entry[3]}({entry[0]}) groups={entry[3]}({entry[0]})\n", "")


def useradd(host, argv, stdin) -> Result:
    opts, args = options("useradd", argv, "rmd:s:M", ["system", "create-home", "home-dir=", "shell=",
                                                      "no-create-home"])
    given = dict(opts)
    if len(args) != 1:
        raise Usage("Usage: useradd [options] LOGIN\n", 2)
    name = args[0]
    if user_entry(host, name) is not None:
        return Result(9, "", f"useradd: user '{name}' already exists\n")
    home = given.get("--home-dir", given.get("-d", f"/home/{name}"))
    shell = given.get("--shell", given.get("-s", "/usr/bin/bash"))
    used = {int(e[2]) for e in passwd(host)}
    system = "--system" in given or "-r" in given
    uid = max(u for u in range(500, 1000) if u not in used) if system else \
        min(u for u in range(1000, 60000) if u not in used)
    # /etc/passwd last: a useradd killed before it made no user, and the next one adds only what is missing
    group = host.read_text("/etc/group") or "root:x:0:root\n"
    if not any(line.startswith(f"{name}:") for line in group.splitlines()):
        host.write_atomic("/etc/group", (group + f"{name}:x:{uid}:\n").encode())
    shadow = host.read_text("/etc/shadow") or "root:*:20400::::::\n"
    if not any(line.startswith(f"{name}:") for line in shadow.splitlines()):
        host.write_atomic("/etc/shadow", (shadow + f"{name}:!*:20400::::::\n").encode(), mode=0o600)
    err = ""
    if "--create-home" in given or "-m" in given:
        if host.exists(home) and owner_of(host, home) != name:
            err = (f"useradd: warning: the home directory {home} already exists.\n"
                   "useradd: Not copying any file from skel directory into it.\n")
        elif not host.exists(home):
            set_owner(host, home, name)  # first: a home without its owner would look like someone else's
            host.makedirs(home, 0o700)
    entries = (host.read_text("/etc/passwd") or DEFAULT_PASSWD) + f"{name}:x:{uid}:{uid}::{home}:{shell}\n"
    host.write_atomic("/etc/passwd", entries.encode())
    return Result(0, "", err)


# owners and permissions

def owner_of(host, path: str) -> str:
    owners = host.load_state().get("owners", {})
    while True:
        if path in owners:
            return owners[path]
        if path == "/":
            return "root"
        path = posixpath.dirname(path)


def set_owner(host, path: str, user: str) -> None:
    state = host.load_state()
    state.setdefault("owners", {})[posixpath.normpath(path)] = user
    host.save_state(state)


def writable(host, path: str, user: str) -> bool:
    return user == "root" or (host.exists(path) and owner_of(host, path) == user)


def install(host, argv, stdin) -> Result:
    opts, args = options("install", argv, "do:g:m:", ["directory", "owner=", "group=", "mode="])
    given = dict(opts)
    if "-d" not in given and "--directory" not in given:
        raise Usage("install: the SIMULATED sample host only simulates install -d\n", 1)
    owner = given.get("-o", given.get("--owner"))
    if owner and user_entry(host, owner) is None:
        return Result(1, "", f"install: invalid user \u2018{owner}\u2019\n")
    mode = int(given.get("-m", given.get("--mode", "755")), 8)
    for folder in args:
        host.makedirs(folder, mode)
        os.chmod(host.real(folder), mode)
        if owner:
            set_owner(host, folder, owner)
    return Result(0, "", "")


def test(host, argv, stdin, ctx: Context) -> Result:
    if len(argv) != 3 or argv[1] not in ("-e", "-d", "-f", "-w", "-O"):
        raise Usage("test: the SIMULATED sample host only simulates test -e|-d|-f|-w|-O PATH\n", 2)
    path, info = ctx.path(argv[2]), host.stat(ctx.path(argv[2]))
    ok = {"-e": info is not None, "-d": info is not None and info.kind == "dir",
          "-f": info is not None and info.kind == "file", "-w": writable(host, path, ctx.user),
          "-O": info is not None and owner_of(host, path) == ctx.user}[argv[1]]
    return Result(0 if ok else 1, "", "")


def runuser(host, argv, stdin, ctx: Context) -> Result:
    if ctx.user != "root":
        return Result(1, "", "runuser: may not be used by non-root users\n")
    if len(argv) < 5 or argv[1] != "-u" or argv[3] != "--":
        raise Usage("runuser: the SIMULATED sample host only simulates runuser -u USER -- COMMAND...\n", 1)
    if user_entry(host, argv[2]) is None:
        return Result(1, "", f"runuser: user {argv[2]} does not exist or the user entry does not contain all "
                             "the required fields\n")
    return dispatch(host, argv[4:], stdin, Context(argv[2], ctx.cwd, dict(ctx.env)))


def env(host, argv, stdin, ctx: Context) -> Result:
    inner, rest = Context(ctx.user, ctx.cwd, dict(ctx.env)), argv[1:]
    while rest and (rest[0] in ("-C", "--chdir") or rest[0].startswith("--chdir=") or "=" in rest[0]):
        if rest[0] in ("-C", "--chdir"):
            inner.cwd, rest = inner.path(rest[1]), rest[2:]
        elif rest[0].startswith("--chdir="):
            inner.cwd, rest = inner.path(rest[0].split("=", 1)[1]), rest[1:]
        else:
            key, _, value = rest[0].partition("=")
            inner.env[key], rest = value, rest[1:]
    if not rest:
        return Result(0, "".join(f"{k}={v}\n" for k, v in inner.env.items()), "")
    info = host.stat(inner.cwd)
    if info is None or info.kind != "dir":
        return Result(125, "", f"env: cannot change directory to '{inner.cwd}': No such file or directory\n")
    return dispatch(host, rest, stdin, inner)


def nproc(host, argv, stdin) -> Result:
    return Result(0, f"{host.load_state()['machine']['cpu']['count']}\n", "")


CONTEXT_PROGRAMS.update({"runuser": runuser, "env": env, "test": test})
PROGRAMS = {"getent": getent, "id": id_, "useradd": useradd, "install": install, "nproc": nproc}
