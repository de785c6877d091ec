"""GRUB's environment block and the sample host's SIMULATED programs that edit it: grub-editenv,
grub-set-default and grub-reboot.

The block (/boot/grub/grubenv) is "# GRUB Environment Block", name=value lines, then '#' padding."""

from __future__ import annotations

import posixpath
import re

from xenbook.core.commands import Result
from xenbook_sample.options import Usage, options

ENV_HEADER = b"# GRUB Environment Block\n"


def read_grubenv(data: bytes) -> list[tuple[str, str]] | None:
    """The block's (name, value) pairs, or None when data is not an environment block."""
    if not data.startswith(ENV_HEADER):
        return None
    pairs, text, i = [], data[len(ENV_HEADER):].decode("utf-8", "surrogateescape"), 0
    while i < len(text):
        end = i
        while end < len(text) and text[end] != "\n":
            end += 2 if text[end] == "\\" else 1
        line = text[i:end]
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            pairs.append((name, re.sub(r"\\(.)", r"\1", value, flags=re.S)))
        i = end + 1
    return pairs


def write_grubenv(pairs: list[tuple[str, str]], size: int = 1024) -> bytes | None:
    """The block holding pairs, padded to size bytes; None when they do not fit."""
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\\n")
    data = ENV_HEADER + "".join(f"{n}={escape(v)}\n" for n, v in pairs).encode("utf-8", "surrogateescape")
    return None if len(data) > size else data.ljust(size, b"#")


# grub-editenv and the scripts that use it on /boot/grub/grubenv

GRUBENV = "/boot/grub/grubenv"


def edit_env(host, prog: str, path: str, command: str, args: list[str]) -> Result:
    """What grub-editenv FILE COMMAND ARGS does; a missing file is created, as the real one does."""
    path = GRUBENV if path == "-" else posixpath.normpath(posixpath.join("/", path))
    data = host.read_bytes(path)
    if data is None or command == "create":
        if host.stat(posixpath.dirname(path)) is None:
            return Result(1, "", f"{prog}: error: cannot open `{path}': No such file or directory.\n")
        data = write_grubenv([], 1024)
        host.write_atomic(path, data, mode=0o644)
    pairs = read_grubenv(data)
    if pairs is None:
        return Result(1, "", f"{prog}: error: invalid environment block.\n")
    if command in ("create", "list"):
        return Result(0, "".join(f"{n}={v}\n" for n, v in pairs) if command == "list" else "", "")
    if command not in ("set", "unset"):
        return Result(1, "", f"{prog}: error: unrecognized command `{command}'.\n")
    for arg in args:
        name, eq, value = arg.partition("=")
        if command == "set" and not eq:
            return Result(1, "", f"{prog}: error: invalid parameter {arg}.\n")
        pairs = [(n, v) for n, v in pairs if n != name] + ([(name, value)] if command == "set" else [])
    new = write_grubenv(pairs, len(data))
    if new is None:
        return Result(1, "", f"{prog}: error: environment block too small.\n")
    host.write_atomic(path, new)
    return Result(0, "", "")


def grub_editenv(host, argv, stdin) -> Result:
    opts, args = options("grub-editenv", argv, "v", ["verbose"], code=64)
    if len(args) < 2:
        raise Usage("grub-editenv: error: you need to specify a filename and a command.\n"
                    "Try 'grub-editenv --help' or 'grub-editenv --usage' for more information.\n", 64)
    return edit_env(host, "grub-editenv", args[0], args[1], args[2:])


def _set_entry(host, argv, prog: str, changes: list[tuple[str, str]]) -> Result:
    opts, args = options(prog, argv, "", ["boot-directory="])
    if not args:
        return Result(1, "", f"{prog}: error: menu entry not specified.\n")
    folder = next((v for o, v in opts if o == "--boot-directory"), "/boot")
    path = posixpath.join(folder, "grub", "grubenv")
    for command, arg in changes:
        result = edit_env(host, "grub-editenv", path, command, [arg.replace("{entry}", args[0])])
        if not result.ok:
            return result
    return Result(0, "", "")


def grub_set_default(host, argv, stdin) -> Result:
    return _set_entry(host, argv, "grub-set-default", [("unset", "next_entry"), ("set", "saved_entry={entry}")])


def grub_reboot(host, argv, stdin) -> Result:
    return _set_entry(host, argv, "grub-reboot", [("set", "next_entry={entry}")])
