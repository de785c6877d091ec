"""Simulated programs of the sample host, printing what the real tools print (the same parsers read both).

PROGRAMS maps a program name to function(host, argv, stdin) -> Result; add a function to simulate more."""

from __future__ import annotations

import getopt
import json
import posixpath

from ..commands import Command, Result
from . import grub
from .host import all_devices, block_devices, find_device, mount_for, read_grubenv, write_grubenv

NOT_SIMULATED = "(SIMULATED host: xenbook's sample host does not simulate this program)"


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


def run_program(host, command: Command) -> Result:
    name = posixpath.basename(command.argv[0])
    fn = PROGRAMS.get(name)
    if fn is None:
        return Result(127, "", f"{command.argv[0]}: command not found {NOT_SIMULATED}")
    try:
        return fn(host, list(command.argv), command.stdin)
    except Usage as e:
        return Result(e.args[1], "", e.args[0])


# util-linux (libsmartcols) output: tables, raw, KEY="value" pairs and JSON

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(v for v in value if v)
    return str(value)


def _json_rows(rows: list[dict], keys: list[str], depth: int) -> list[str]:
    pad, kpad = " " * (6 + 6 * depth), " " * (9 + 6 * depth)
    lines: list[str] = []
    for row in rows:
        if lines:
            lines[-1] += ",{"
        else:
            lines.append(pad + "{")
        items = [(k, row[k]) for k in keys]
        if row.get("children"):
            items.append(("children", row["children"]))
        for i, (k, v) in enumerate(items):
            comma = "," if i < len(items) - 1 else ""
            if k == "children":
                lines += [f'{kpad}"children": ['] + _json_rows(v, keys, depth + 1) + [f"{kpad}]{comma}"]
            elif isinstance(v, list):
                vals = [" " * (len(kpad) + 4) + json.dumps(x, ensure_ascii=False) for x in v or [None]]
                lines += [f'{kpad}"{k}": ['] + [x + ("," if j < len(vals) - 1 else "") for j, x in
                                                 enumerate(vals)] + [f"{kpad}]{comma}"]
            else:
                lines.append(f'{kpad}"{k}": {json.dumps(v, ensure_ascii=False)}{comma}')
        lines.append(pad + "}")
    return lines


def _keyed(rows: list[dict], columns: list[str], tree: bool) -> list[dict]:
    return [dict({c.lower(): r[c] for c in columns}, children=_keyed(r["children"], columns, tree) if tree else [])
            for r in rows]


def render(top: str, columns: list[str], rows: list[dict], *, mode: str, headings: bool,
           right: frozenset = frozenset(), tree: bool = False, text=None) -> str:
    """Rows (dicts keyed by column name, nested under "children") the way util-linux prints them."""
    if mode == "json":
        body = _json_rows(_keyed(rows, columns, tree), [c.lower() for c in columns], 0)
        return "\n".join(["{", f'   "{top}": ['] + body + ["   ]", "}"]) + "\n"
    text = text or (lambda col, v: _text(v))
    flat: list[list[str]] = []

    def walk(items, prefix, nested):
        for i, r in enumerate(items):
            last = i == len(items) - 1
            cells = [text(c, r[c]) for c in columns]
            if nested and mode == "table":
                cells[0] = prefix + ("└─" if last else "├─") + cells[0]
            flat.append(cells)
            if tree:
                walk(r["children"], prefix + (("  " if last else "│ ") if nested else ""), True)

    walk(rows, "", False)
    if mode == "pairs":
        keys = [c.replace(":", "_").replace("-", "_").replace("%", "_PCT") for c in columns]
        return "".join(" ".join(f'{k}="{v}"' for k, v in zip(keys, r)) + "\n" for r in flat)
    if mode == "raw":
        esc = [[v.replace("\\", "\\x5c").replace(" ", "\\x20") for v in r] for r in flat]
        return "".join(" ".join(r) + "\n" for r in ([columns] if headings else []) + esc)
    widths = [max([len(c)] + [len(r[i]) for r in flat]) for i, c in enumerate(columns)]
    lines = []
    for r in ([columns] if headings else []) + flat:
        cells = [v.rjust(w) if c in right else v.ljust(w) for v, w, c in zip(r, widths, columns)]
        lines.append(" ".join(cells[:-1] + [cells[-1] if columns[-1] in right else r[-1]]))
    return "".join(line + "\n" for line in lines)


def _mode(opts: dict) -> str:
    return "json" if "-J" in opts else "pairs" if "-P" in opts else "raw" if "-r" in opts else "table"


def _columns(prog: str, value: str, known: list[str]) -> list[str]:
    cols = [c.strip().upper() for c in value.split(",") if c.strip()]
    for c in cols:
        if c not in known:
            raise Usage(f"{prog}: unknown column: {c}\n", 1)
    return cols


# uname

def uname(host, argv, stdin) -> Result:
    names = {"kernel-name": "s", "nodename": "n", "kernel-release": "r", "kernel-version": "v", "machine": "m",
             "processor": "p", "hardware-platform": "i", "operating-system": "o", "all": "a"}
    opts, args = options("uname", argv, "snrvmpioa", list(names))
    if args:
        raise Usage(f"uname: extra operand '{args[0]}'\nTry 'uname --help' for more information.\n", 1)
    wanted = {names.get(o[2:], o[1:]) for o, _ in opts} or {"s"}
    if "a" in wanted:
        wanted |= set("snrvmo")
    run = host.load_state()["running"]
    fields = [("s", "Linux"), ("n", run["hostname"]), ("r", run["kernel_release"]), ("v", run["kernel_version"]),
              ("m", run["machine"]), ("p", "unknown"), ("i", "unknown"), ("o", "GNU/Linux")]
    return Result(0, " ".join(v for k, v in fields if k in wanted) + "\n", "")


# findmnt

FINDMNT_COLUMNS = ["TARGET", "SOURCE", "FSTYPE", "OPTIONS", "UUID", "PARTUUID", "LABEL", "FSROOT", "MAJ:MIN"]


def findmnt(host, argv, stdin) -> Result:
    opts_list, args = options("findmnt", argv, "JlnrPo:T:S:M:t:fke", [
        "json", "list", "noheadings", "raw", "pairs", "output=", "target=", "source=", "mountpoint=",
        "types=", "first-only", "kernel", "evaluate"])
    short = {"--json": "-J", "--list": "-l", "--noheadings": "-n", "--raw": "-r", "--pairs": "-P",
             "--output": "-o", "--target": "-T", "--source": "-S", "--mountpoint": "-M", "--types": "-t",
             "--first-only": "-f"}
    opts = {short.get(o, o): v for o, v in opts_list}
    columns = _columns("findmnt", opts.get("-o", "TARGET,SOURCE,FSTYPE,OPTIONS"), FINDMNT_COLUMNS)
    state = host.load_state()
    rows = []
    for m in state["mounts"]:
        dev = find_device(state, m["source"]) or {}
        rows.append({"TARGET": m["target"], "SOURCE": m["source"], "FSTYPE": m["fstype"], "OPTIONS": m["options"],
                     "UUID": dev.get("uuid"), "PARTUUID": dev.get("partuuid"), "LABEL": dev.get("label"),
                     "FSROOT": m.get("fsroot", "/"),
                     "MAJ:MIN": f"{dev['major']}:{dev['minor']}" if dev else "0:0", "children": []})

    def source_is(row, spec):
        dev = find_device(state, spec)
        return row["SOURCE"] == spec or (dev is not None and row["SOURCE"] == dev["path"])

    filters = []
    if len(args) > 2:
        raise Usage("findmnt: bad usage\nTry 'findmnt --help' for more information.\n", 1)
    if len(args) == 1:
        a = posixpath.normpath(args[0]) if args[0].startswith("/") else args[0]
        filters.append(lambda r: r["TARGET"] == a or source_is(r, a))
    elif len(args) == 2:
        filters += [lambda r: source_is(r, args[0]), lambda r: r["TARGET"] == posixpath.normpath(args[1])]
    if "-T" in opts:
        holder = mount_for(state, opts["-T"])["target"]
        filters.append(lambda r: r["TARGET"] == holder)
    if "-M" in opts:
        filters.append(lambda r: r["TARGET"] == posixpath.normpath(opts["-M"]))
    if "-S" in opts:
        filters.append(lambda r: source_is(r, opts["-S"]))
    if "-t" in opts:
        types = set(opts["-t"].split(","))
        filters.append(lambda r: r["FSTYPE"] in types)
    matched = [r for r in rows if all(f(r) for f in filters)]
    if "-f" in opts:
        matched = matched[:1]
    if not matched:
        return Result(1, "", "")
    tree = not filters and "-l" not in opts and _mode(opts) in ("json", "table")
    if tree:
        for i, r in enumerate(rows[1:], 1):
            parents = [p for p in rows[:i] if r["TARGET"].startswith(p["TARGET"].rstrip("/") + "/")]
            max(parents, key=lambda p: len(p["TARGET"]))["children"].append(r)
        matched = rows[:1]
    return Result(0, render("filesystems", columns, matched, mode=_mode(opts), headings="-n" not in opts,
                            tree=tree), "")


# lsblk

LSBLK_COLUMNS = ["NAME", "KNAME", "PATH", "MAJ:MIN", "RM", "RO", "SIZE", "TYPE", "FSTYPE", "UUID", "LABEL",
                 "PTUUID", "PTTYPE", "PARTUUID", "PARTTYPE", "PARTN", "MOUNTPOINT", "MOUNTPOINTS", "PKNAME",
                 "MODEL"]


def _human(size: int) -> str:
    """util-linux's size_to_human_string with one-letter suffixes."""
    exp = 0
    while exp < 60 and size >= 1 << (exp + 10):
        exp += 10
    dec, frac = (size >> exp, size % (1 << exp)) if exp else (size, 0)
    if frac:
        frac = (frac // (1 << (exp - 10)) + 50) // 100
        if frac == 10:
            dec, frac = dec + 1, 0
    return f"{dec}{'.' + str(frac) if frac else ''}{'BKMGTPE'[exp // 10]}"


def lsblk(host, argv, stdin) -> Result:
    opts_list, args = options("lsblk", argv, "Jlbo:nrPpda", [
        "json", "list", "bytes", "output=", "noheadings", "raw", "pairs", "paths", "nodeps", "all"])
    short = {"--json": "-J", "--list": "-l", "--bytes": "-b", "--output": "-o", "--noheadings": "-n",
             "--raw": "-r", "--pairs": "-P", "--paths": "-p", "--nodeps": "-d", "--all": "-a"}
    opts = {short.get(o, o): v for o, v in opts_list}
    columns = _columns("lsblk", opts.get("-o", "NAME,MAJ:MIN,RM,SIZE,RO,TYPE,MOUNTPOINTS"), LSBLK_COLUMNS)
    state = host.load_state()
    mode = _mode(opts)

    def row(d):
        return {"NAME": d["path"] if "-p" in opts else d["name"], "KNAME": d["name"], "PATH": d["path"],
                "MAJ:MIN": f"{d['major']}:{d['minor']}", "RM": False, "RO": False,
                "SIZE": d["size"] if "-b" in opts else _human(d["size"]), "TYPE": d["type"],
                "FSTYPE": d["fstype"], "UUID": d["uuid"], "LABEL": d["label"], "PTUUID": d["ptuuid"],
                "PTTYPE": d["pttype"], "PARTUUID": d["partuuid"], "PARTTYPE": d["parttype"], "PARTN": d["partn"],
                "MOUNTPOINT": (d["mountpoints"] or [None])[0], "MOUNTPOINTS": d["mountpoints"] or [None],
                "PKNAME": ("/dev/" if "-p" in opts and d["pkname"] else "") + d["pkname"] if d["pkname"] else None,
                "MODEL": d["model"],
                "children": [] if "-d" in opts else [row(c) for c in d["children"]]}

    if args:
        picked, missing = [], []
        for a in args:
            dev = find_device(state, a)
            (picked if dev else missing).append(dev or a)
        if not picked:
            return Result(32, "", "".join(f"lsblk: {a}: not a block device\n" for a in missing))
        rows = [row(d) for d in picked]
    else:
        rows = [row(d) for d in block_devices(state)]
    tree = "-l" not in opts and mode in ("json", "table")
    if not tree:
        rows = [r for top in rows for r in [top] + (top["children"])]

    def text(col, v):
        if col == "MAJ:MIN" and mode == "table":
            major, minor = v.split(":")
            return f"{major:>3}:{minor:<3}"
        return _text(v)

    return Result(0, render("blockdevices", columns, rows, mode=mode, headings="-n" not in opts, tree=tree,
                            right=frozenset({"MAJ:MIN", "RM", "RO", "SIZE"}), text=text), "")


# blkid

def _tags(dev: dict) -> list[tuple[str, str]]:
    if dev["type"] == "disk":
        return [("PTUUID", dev["ptuuid"]), ("PTTYPE", dev["pttype"])] if dev["pttype"] else []
    tags = [("LABEL", dev["label"]), ("UUID", dev["uuid"])]
    if dev["fstype"]:
        tags += [("BLOCK_SIZE", "512" if dev["fstype"] == "vfat" else "4096"), ("TYPE", dev["fstype"])]
    return [(k, v) for k, v in tags + [("PARTUUID", dev["partuuid"])] if v]


def blkid(host, argv, stdin) -> Result:
    opts, args = options("blkid", argv, "c:o:s:pU:L:t:", ["output=", "match-tag=", "probe", "cache-file=",
                                                          "match-token="], code=4)
    fmt, only, match = "full", [], []
    state = host.load_state()
    for o, v in opts:
        if o in ("-o", "--output"):
            fmt = v
        elif o in ("-s", "--match-tag"):
            only.append(v)
        elif o in ("-t", "--match-token"):
            match.append(v.partition("="))
        elif o in ("-U", "-L"):
            dev = find_device(state, ("UUID=" if o == "-U" else "LABEL=") + v)
            return Result(0, dev["path"] + "\n", "") if dev else Result(2, "", "")
    if fmt not in ("full", "value", "export", "device"):
        raise Usage(f'blkid: unsupported output format {fmt}\n', 4)
    devices = [find_device(state, a) for a in args] if args else all_devices(state)
    out = []
    for dev in devices:
        if dev is None:
            continue
        tags = _tags(dev)
        if any(dict(tags).get(k) != v for k, _, v in match):
            continue
        if only:
            tags = [(k, v) for k, v in tags if k in only]
        if not tags:
            continue
        if fmt == "full":
            out.append(f"{dev['path']}: " + " ".join(f'{k}="{v}"' for k, v in tags) + "\n")
        elif fmt == "value":
            out.append("".join(v + "\n" for _, v in tags))
        elif fmt == "device":
            out.append(dev["path"] + "\n")
        else:
            out.append(f"DEVNAME={dev['path']}\n" + "".join(f"{k}={v}\n" for k, v in tags))
    return Result(0 if out else 2, ("\n" if fmt == "export" else "").join(out), "")


# grub-probe

def grub_probe(host, argv, stdin) -> Result:
    opts, args = options("grub-probe", argv, "t:dv", ["target=", "device", "verbose"])
    target, by_device = "fs", False
    for o, v in opts:
        if o in ("-t", "--target"):
            target = v
        elif o in ("-d", "--device"):
            by_device = True
    if not args:
        raise Usage("grub-probe: error: no path or device is specified.\n", 1)
    state = host.load_state()
    if by_device:
        dev = find_device(state, args[0])
    else:
        if not host.exists(args[0]):
            return Result(1, "", f"grub-probe: error: failed to get canonical path of `{args[0]}'.\n")
        source = mount_for(state, args[0])["source"]
        dev = find_device(state, source)
        if dev is None:
            return Result(1, "", f"grub-probe: error: failed to get canonical path of `{source}'.\n")
    if dev is None or dev["type"] != "part":
        return Result(1, "", "grub-probe: error: unknown filesystem.\n")
    g = dev["grub"]
    values = {"fs": g["fs"], "fs_uuid": dev["uuid"], "fs_label": dev["label"] or "",
              "device": dev["path"], "disk": f"/dev/{dev['pkname']}", "drive": g["drive"],
              "partmap": g["partmap"], "abstraction": "", "cryptodisk_uuid": "", "compatibility_hint": g["compat"],
              "hints_string": g["hints"], "partuuid": dev["partuuid"], "gpt_parttype": dev["parttype"]}
    if target not in values:
        return Result(1, "", f"grub-probe: error: unknown target `{target}'.\n")
    if values[target] is None:
        return Result(1, "", "grub-probe: error: unknown filesystem.\n")
    return Result(0, values[target] + "\n", "")


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


PROGRAMS = {
    "uname": uname,
    "findmnt": findmnt,
    "lsblk": lsblk,
    "blkid": blkid,
    "grub-probe": grub_probe,
    "grub-mkconfig": grub.grub_mkconfig,
    "grub-editenv": grub_editenv,
    "grub-set-default": grub_set_default,
    "grub-reboot": grub_reboot,
}
