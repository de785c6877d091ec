"""The sample host's SIMULATED block-device programs: findmnt, lsblk, blkid and grub-probe; blkid on image files is
the REAL one when this machine has it (images.py), and findmnt.py runs the real findmnt over the sample's mount table
and falls back to the one here."""

from __future__ import annotations

import posixpath

from xenbook.core.commands import Result
from xenbook_sample.host import all_devices, block_devices, find_device, mount_for
from xenbook_sample.mountinfo import merged_options, rows as table_rows
from xenbook_sample.options import Usage, options
from xenbook_sample.tables import cell_text, findmnt_cell, output_mode, parse_columns, render


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
    columns = parse_columns("findmnt", opts.get("-o", "TARGET,SOURCE,FSTYPE,OPTIONS"), FINDMNT_COLUMNS)
    state = host.load_state()
    rows, by_id = [], {}
    for m in table_rows(state):  # the lines of the sample's mountinfo file, which the real findmnt reads
        dev = m["device"] or {}
        by_id[m["id"]] = {"TARGET": m["target"], "SOURCE": m["source"], "FSTYPE": m["fstype"],
                          "OPTIONS": merged_options(m["vfs"], m["sb"]), "UUID": dev.get("uuid"),
                          "PARTUUID": dev.get("partuuid"), "LABEL": dev.get("label"), "FSROOT": m["root"],
                          "MAJ:MIN": m["majmin"], "children": [], "id": m["id"], "parent": m["parent"]}
        rows.append(by_id[m["id"]])

    def source_is(row, spec):
        dev = find_device(state, spec)
        return row["SOURCE"] == spec or (dev is not None and row["SOURCE"] == dev["path"])

    matches = []  # naming a source or target turns the tree into a list; -t only leaves filesystems out
    if len(args) > 2:
        raise Usage("findmnt: bad usage\nTry 'findmnt --help' for more information.\n", 1)
    if len(args) == 1:
        a = posixpath.normpath(args[0]) if args[0].startswith("/") else args[0]
        matches.append(lambda r: r["TARGET"] == a or source_is(r, a))
    elif len(args) == 2:
        matches += [lambda r: source_is(r, args[0]), lambda r: r["TARGET"] == posixpath.normpath(args[1])]
    if "-T" in opts:
        holder = mount_for(state, opts["-T"])["target"]
        matches.append(lambda r: r["TARGET"] == holder)
    if "-M" in opts:
        matches.append(lambda r: r["TARGET"] == posixpath.normpath(opts["-M"]))
    if "-S" in opts:
        matches.append(lambda r: source_is(r, opts["-S"]))
    filters = list(matches)
    if "-t" in opts:  # libmount: a leading "no" negates the whole list
        negate = opts["-t"].startswith("no")
        types = {t[2:] if t.startswith("no") else t for t in opts["-t"].split(",")}
        filters.append(lambda r: (r["FSTYPE"] in types) != negate)
    matched = [r for r in rows if all(f(r) for f in filters)]
    for r in rows:  # findmnt shows a bind mount's or btrfs subvolume's path after the device: /dev/sda2[/@]
        if r["FSROOT"] != "/":
            r["SOURCE"] = f"{r['SOURCE']}[{r['FSROOT']}]"
    tree = not matches and "-f" not in opts and "-l" not in opts and output_mode(opts) in ("json", "table")
    if tree:
        matched = _tree(rows, matched, nested="TARGET" in columns)
    elif "-f" in opts:
        matched = matched[:1]
    if not matched and not tree:
        return Result(1, "", "")
    mode = output_mode(opts)
    return Result(0, render("filesystems", columns, matched, mode=mode, headings="-n" not in opts,
                            tree=tree and "TARGET" in columns, tree_column="TARGET", text=findmnt_cell(mode))
                  if matched or mode == "json" else "", "")


def _tree(rows: list[dict], shown: list[dict], nested: bool) -> list[dict]:
    """The shown rows as findmnt's tree: from the root filesystem down, each one's children by mount ID, one left
    out handing its children to its nearest ancestor shown; without the TARGET column (where the tree is drawn), the
    rows in that order."""
    kids: dict[int, list[dict]] = {}
    for r in rows:
        kids.setdefault(r["parent"], []).append(r)
    keep, top, flat = {id(r) for r in shown}, [], []

    def walk(r, siblings):
        if id(r) in keep:
            siblings.append(r)
            flat.append(r)
            siblings = r["children"]
        for child in sorted(kids.get(r["id"], []), key=lambda c: c["id"]):
            walk(child, siblings)

    if rows:
        walk(min(rows, key=lambda r: r["parent"]), top)
    if nested:
        return top
    for r in flat:
        r["children"] = []
    return flat


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
    columns = parse_columns("lsblk", opts.get("-o", "NAME,MAJ:MIN,RM,SIZE,RO,TYPE,MOUNTPOINTS"), LSBLK_COLUMNS)
    state = host.load_state()
    mode = output_mode(opts)

    def row(d):
        return {"NAME": d["path"] if "-p" in opts else d["name"], "KNAME": d.get("kname", d["name"]), "PATH": d["path"],
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
        return cell_text(v)

    return Result(0, render("blockdevices", columns, rows, mode=mode, headings="-n" not in opts, tree=tree,
                            right=frozenset({"MAJ:MIN", "RM", "RO", "SIZE"}), text=text), "")


# blkid

VERSIONS = {"ext2": "1.0", "ext3": "1.0", "ext4": "1.0", "vfat": "FAT32", "LVM2_member": "LVM2 001"}


def _tags(dev: dict, probe: bool = False) -> list[tuple[str, str]]:
    """What blkid prints for dev; probe (-p) adds VERSION and USAGE and names the partition entry."""
    if dev["pttype"] and dev["type"] != "part":  # a disk's table, or one a guest wrote on its LV or image
        return [("PTUUID", dev["ptuuid"]), ("PTTYPE", dev["pttype"])]
    tags = [("LABEL", dev["label"]), ("UUID", dev["uuid"])]
    if dev["fstype"]:
        lvm = dev["fstype"] == "LVM2_member"
        tags += [("VERSION", VERSIONS.get(dev["fstype"]) if probe else None),
                 ("BLOCK_SIZE", None if lvm else "512" if dev["fstype"] == "vfat" else "4096"),
                 ("TYPE", dev["fstype"]), ("USAGE", ("raid" if lvm else "filesystem") if probe else None)]
    if dev["type"] == "part" and probe:
        tags += [("PART_ENTRY_SCHEME", "gpt" if dev["pttype"] == "gpt" else "dos"),
                 ("PART_ENTRY_UUID", dev["partuuid"]), ("PART_ENTRY_TYPE", dev["parttype"]),
                 ("PART_ENTRY_NUMBER", str(dev["partn"])), ("PART_ENTRY_OFFSET", str(dev["start"])),
                 ("PART_ENTRY_SIZE", str(dev["size"] // 512)), ("PART_ENTRY_DISK", f"{dev['major']}:"
                                                                                   f"{dev['minor'] - dev['partn']}")]
    else:
        tags.append(("PARTUUID", dev["partuuid"]))
    return [(k, v) for k, v in tags if v]


BLKID_SHORT = "c:o:s:pU:L:t:"


def blkid(host, argv, stdin) -> Result:
    """The real blkid answers for image files (images.py); the simulation for devices, or when it is missing."""
    opts, args = options("blkid", argv, BLKID_SHORT, ["output=", "match-tag=", "probe", "cache-file=",
                                                      "match-token="], code=4)
    from xenbook_sample import images  # storage imports this module's callers
    files = {a: images.image_file(host, a) for a in args}
    note = ""
    if args and all(files.values()) and not any(o in ("-U", "-L") for o, _ in opts):
        tool = images.find_tool("blkid")
        if tool:
            return images.real_blkid(host, tool, opts, BLKID_SHORT, files)
        note = images.missing("blkid")
    result = _simulated_blkid(host, opts, args)
    return Result(result.returncode, result.stdout, result.stderr + note)


def _simulated_blkid(host, opts, args) -> Result:
    fmt, only, match = "full", [], []
    state, probe = host.load_state(), any(o in ("-p", "--probe") for o, _ in opts)
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
    from xenbook_sample.storage import file_device  # image files the simulation probes like devices
    devices = [find_device(state, a) or file_device(host, state, a) for a in args] if args else all_devices(state)
    out = []
    for dev in devices:
        if dev is None:
            continue
        tags = _tags(dev, probe)
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
