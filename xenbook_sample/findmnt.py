"""findmnt on the sample host: the real findmnt of this machine reads the sample's mountinfo file (findmnt -F), so
options, filters, the tree and the output formats are util-linux's own. The simulation (blockdev.findmnt) answers
when findmnt is missing here, cannot read the file, or is asked for what would read this machine instead of the
sample, and says so on stderr.

What the sample translates before findmnt runs: a device named by tag or link (UUID=, /dev/disk/by-uuid/...) becomes
its device path, and --target becomes the mount point holding that path in the sample's tree, since findmnt would
resolve both on this machine. Paths are compared as given (-C). Columns findmnt reads from the devices rather than
the table (UUID, LABEL, PARTUUID, PARTLABEL) would be this machine's; findmnt prints the rows without them, with
each mount's ID, and the sample fills them from its own devices, in the output format asked for."""

from __future__ import annotations

import json
import os
import posixpath
import shutil

from xenbook.connectors.rooted import run_local
from xenbook.core.commands import Result
from xenbook_sample.blockdev import findmnt as simulate
from xenbook_sample.host import ToolResult, find_device, mount_for
from xenbook_sample.mountinfo import rows as table_rows, sync
from xenbook_sample.options import Usage, options
from xenbook_sample.tables import findmnt_cell, output_mode, render

SHORT = "JlnrPuvfkiRUo:T:S:M:t:O:"
LONG = ["json", "list", "noheadings", "raw", "pairs", "notruncate", "nofsroot", "first-only", "kernel", "invert",
        "submounts", "uniq", "output=", "target=", "source=", "mountpoint=", "types=", "options=", "tree", "real",
        "pseudo"]
SHORT_OF = {"--json": "-J", "--list": "-l", "--noheadings": "-n", "--raw": "-r", "--pairs": "-P",
            "--output": "-o", "--target": "-T", "--source": "-S", "--mountpoint": "-M"}
DEFAULT_COLUMNS = ["TARGET", "SOURCE", "FSTYPE", "OPTIONS"]
TABLE_COLUMNS = {"SOURCE", "SOURCES", "TARGET", "FSTYPE", "OPTIONS", "VFS-OPTIONS", "FS-OPTIONS", "FSROOT", "ID",
                 "PARENT", "MAJ:MIN", "OPT-FIELDS", "PROPAGATION"}
TAGS = {"UUID": "uuid", "PARTUUID": "partuuid", "LABEL": "label", "PARTLABEL": "partlabel"}
TAG_PREFIXES = ("UUID=", "PARTUUID=", "LABEL=", "PARTLABEL=", "/dev/disk/")
ENV_KEEP = ("PATH",)


def _note(why: str) -> str:
    return f"[simulated] {why}, so xenbook's sample host answered findmnt with its simulation\n"


def simulated(host, argv, stdin, why: str) -> Result:
    """The simulation's answer, with a line on stderr saying why the real findmnt did not answer."""
    try:
        result = simulate(host, argv, stdin)
    except Usage as e:
        return Result(e.args[1], "", e.args[0] + _note(why))
    return Result(result.returncode, result.stdout, result.stderr + _note(why))


def _columns(value: str | None) -> list[str]:
    if value is None:
        return list(DEFAULT_COLUMNS)
    cols = [c.strip().upper() for c in value.lstrip("+").split(",") if c.strip()]
    return DEFAULT_COLUMNS + cols if value.startswith("+") else cols


def _device(state: dict, spec: str) -> str | None:
    """A device named by tag, link or alias, as the path the table lists (None for a tag naming no device of the
    sample); any other name as it is."""
    dev = find_device(state, spec) if spec.startswith(TAG_PREFIXES + ("/dev/",)) else None
    if dev is None:
        return None if spec.startswith(TAG_PREFIXES) else spec
    return dev["path"]


def _holder(host, state: dict, path: str) -> str:
    """The mount point --target finds for path in the sample's tree (path itself when it does not exist)."""
    path = posixpath.normpath("/" + path.lstrip("/"))
    return mount_for(state, path)["target"] if host.exists(path) else path


def translate(host, state: dict, argv: list[str]) -> tuple[list[str], list[str], dict] | str:
    """(options, positionals, {short option: value}) for the real findmnt, or why the simulation must answer."""
    try:
        opts, args = options("findmnt", argv, SHORT, LONG)
    except Usage:
        return "findmnt was given options the sample does not pass on"
    out: list[str] = []
    for o, v in opts:
        o = SHORT_OF.get(o, o)
        if o == "-T":
            o, v = "-M", _holder(host, state, v)
        elif o == "-M":
            v = posixpath.normpath(v)
        elif o == "-S":
            v = _device(state, v)
        if v is None:
            return "no device of the sample has that name"
        out += [o, v] if o in ("-o", "-T", "-S", "-M", "-t", "-O") or o.startswith("--") and v else [o]
    named = []
    for a in args:
        a = _device(state, a) if not a.startswith("/") or a.startswith("/dev/") else posixpath.normpath(a)
        if a is None:
            return "no device of the sample has that name"
        named.append(a)
    given = {SHORT_OF.get(o, o): v for o, v in opts}
    return out, named, given


def _run(path: str, argv: list[str]) -> Result:
    env = {k: os.environ[k] for k in ENV_KEEP if k in os.environ}
    return run_local([shutil.which("findmnt") or "findmnt", "-C", "-F", path, *argv], env={**env, "LC_ALL": "C.UTF-8"})


def _filled(host, state: dict, path: str, opts: list[str], named: list[str], given: dict,
            columns: list[str]) -> Result | str:
    """findmnt's rows with the tag columns the sample's devices fill, rendered in the mode asked for."""
    mode = output_mode(given)
    keep = [o for o in opts if o not in ("-J", "-r", "-P", "-n", "-u")]
    table = ",".join(["ID"] + [c for c in columns if c not in TAGS])  # what findmnt reads from the table, and ID
    ask = [table if i and keep[i - 1] == "-o" else o for i, o in enumerate(keep)]
    if "-o" not in keep:
        ask += ["-o", table]
    ask = [o for o in ask if o != "-l"] + ["-J"] + (["-l"] if "-l" in given or mode in ("raw", "pairs") else [])
    result = _run(path, ask + (["--", *named] if named else []))
    if path in result.stdout + result.stderr:
        return "findmnt could not read the sample's mountinfo file"
    if not result.ok:
        return ToolResult(result.returncode, result.stdout, result.stderr)
    try:
        found = json.loads(result.stdout)["filesystems"]
    except (ValueError, KeyError, TypeError):
        return "findmnt printed something that is not its JSON"
    devices = {r["id"]: r["device"] or {} for r in table_rows(state)}

    def row(item):
        dev = devices.get(item.get("id"), {})
        cells = {c: dev.get(TAGS[c]) if c in TAGS else item.get(c.lower()) for c in columns}
        return {**cells, "children": [row(c) for c in item.get("children", [])]}

    rows = [row(item) for item in found]
    tree = any(r["children"] for r in rows)  # findmnt nests them when it draws a tree, in the TARGET column
    return ToolResult(0, render("filesystems", columns, rows, mode=mode, headings="-n" not in given, tree=tree,
                                tree_column="TARGET", text=findmnt_cell(mode), right=frozenset({"ID", "PARENT"})),
                      result.stderr)


def findmnt(host, argv, stdin) -> Result:
    if shutil.which("findmnt") is None:
        return simulated(host, argv, stdin, "findmnt is not installed on this machine")
    state = host.load_state()
    plan = translate(host, state, argv)
    if isinstance(plan, str):
        return simulated(host, argv, stdin, plan)
    opts, named, given = plan
    columns = _columns(given.get("-o"))
    other = [c for c in columns if c not in TABLE_COLUMNS and c not in TAGS]
    if other:
        return simulated(host, argv, stdin, f"findmnt's column {other[0]} is not read from the mount table")
    try:
        path = sync(host, state)
    except OSError as e:
        return simulated(host, argv, stdin, f"the sample's mountinfo file could not be written ({e.strerror})")
    if any(c in TAGS for c in columns):
        result = _filled(host, state, path, opts, named, given, columns)
    else:
        result = _run(path, opts + (["--", *named] if named else []))
        if path in result.stdout + result.stderr:
            result = "findmnt could not read the sample's mountinfo file"
        else:
            result = ToolResult(result.returncode, result.stdout, result.stderr)
    return simulated(host, argv, stdin, result) if isinstance(result, str) else result
