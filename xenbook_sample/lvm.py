"""The sample host's SIMULATED LVM: vgs, lvs and lvcreate over the "lvm" state key (volume group -> uuid,
extent_size, PVs, LVs with extents and device-mapper minor); a new LV gets its device nodes as storage.py makes them."""

from __future__ import annotations

import getopt
import json
import os
import posixpath
import re
import secrets

from xenbook.core.commands import Result
from xenbook_sample.options import Usage
from xenbook_sample.storage import _lv_nodes, dm_path

FIELDS = {"vg_name": "VG", "vg_uuid": "VG UUID", "vg_size": "VSize", "vg_free": "VFree", "vg_extent_size": "Ext",
          "vg_extent_count": "#Ext", "vg_free_count": "Free", "pv_count": "#PV", "lv_count": "#LV",
          "snap_count": "#SN", "vg_attr": "Attr", "lv_name": "LV", "lv_uuid": "LV UUID", "lv_attr": "Attr",
          "lv_size": "LSize", "lv_path": "Path", "lv_dm_path": "DMPath"}
SIZES = {"vg_size", "vg_free", "vg_extent_size", "lv_size"}
DEFAULTS = {"vg": "vg_name,pv_count,lv_count,snap_count,vg_attr,vg_size,vg_free",
            "lv": "lv_name,vg_name,lv_attr,lv_size"}


def _free(info: dict) -> int:
    """Free extents of a volume group."""
    return sum(pv["pe_count"] for pv in info["pvs"]) - sum(lv["extents"] for lv in info["lvs"])


def _rows(state: dict, kind: str, names: list[str]) -> tuple[list[dict], str]:
    """Report rows of volume groups or logical volumes named VG, VG/LV or /dev/VG/LV (all without names)."""
    rows, err, lvm = [], "", state.get("lvm", {})
    wanted = [n.removeprefix("/dev/").partition("/")[::2] for n in names] or [(vg, "") for vg in sorted(lvm)]
    for vg, lv in wanted:
        info = lvm.get(vg)
        if info is None:
            err += f'  Volume group "{vg}" not found\n  Cannot process volume group {vg}\n'
            continue
        size, total = info["extent_size"], sum(pv["pe_count"] for pv in info["pvs"])
        if kind == "vg":
            rows.append({"vg_name": vg, "vg_uuid": info["uuid"], "vg_size": total * size,
                         "vg_free": _free(info) * size, "vg_extent_size": size, "vg_extent_count": total,
                         "vg_free_count": _free(info), "pv_count": len(info["pvs"]), "lv_count": len(info["lvs"]),
                         "snap_count": 0, "vg_attr": "wz--n-"})
            continue
        lvs = [x for x in sorted(info["lvs"], key=lambda x: x["name"]) if not lv or x["name"] == lv]
        if lv and not lvs:
            err += f'  Failed to find logical volume "{vg}/{lv}"\n'
        open_ = {m["source"] for m in state["mounts"]}
        rows += [{"lv_name": x["name"], "vg_name": vg, "lv_uuid": x["uuid"], "lv_size": x["extents"] * size,
                  "lv_path": f"/dev/{vg}/{x['name']}", "lv_dm_path": dm_path(vg, x["name"]),
                  "lv_attr": "-wi-ao----" if dm_path(vg, x["name"]) in open_ else "-wi-a-----"} for x in lvs]
    return rows, err


def _units(value: int, unit: str, suffix: bool) -> str:
    """A size as LVM's --units prints it: b bytes, h human (1024, "<" when rounded up), k m g t (1024), K M G T."""
    if unit in "bB":
        return f"{value}{'B' if suffix else ''}"
    powers = "bkmgtpe"
    if unit in ("h", "H"):
        if value == 0:
            return "0 " if suffix else "0"
        p = max(i for i in range(1, 7) if value >= 1024 ** i or i == 1)
        base, unit = 1024 ** p, powers[p]
    else:
        base = (1024 if unit.islower() else 1000) ** powers.index(unit.lower())
    shown = f"{value / base:.2f}"
    return ("<" if float(shown) * base > value else "") + shown + (unit if suffix else "")


def _report(prog: str, argv: list[str], kind: str, state: dict) -> Result:
    """vgs or lvs: -o fields, --units, --nosuffix, --noheadings, --reportformat json (or the basic table)."""
    try:
        opts, args = getopt.gnu_getopt(argv[1:], "o:", ["reportformat=", "units=", "nosuffix", "noheadings",
                                                        "options="])
    except getopt.GetoptError as e:
        raise Usage(f"{prog}: {e.msg}\n  Error during parsing of command line.\n", 3)
    given = {o: v for o, v in opts}
    unit, suffix = given.get("--units", "h"), "--nosuffix" not in given
    fields = []
    for f in given.get("-o", given.get("--options", DEFAULTS[kind])).split(","):
        f = f.strip() if f.strip() in FIELDS else f"{kind}_{f.strip()}"
        if f not in FIELDS:
            return Result(3, "", f"  Unrecognised field: {f.removeprefix(kind + '_')}\n")
        fields.append(f)
    rows, err = _rows(state, kind, args)
    cells = [{f: _units(r[f], unit, suffix) if f in SIZES else str(r[f]) for f in fields} for r in rows]
    if given.get("--reportformat") in ("json", "json_std"):
        body = "".join(",\n"[:i and 2] + " " * 18 + "{" + ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in
                                                                   c.items()) + "}" for i, c in enumerate(cells))
        out = (f'  {{\n      "report": [\n          {{\n              "{kind}": [\n' + (body + "\n" if body else "")
               + "              ]\n          }\n      ]\n  }\n")
    else:
        table = [[FIELDS[f] for f in fields]] * ("--noheadings" not in given) + [list(c.values()) for c in cells]
        widths = [max(len(r[i]) for r in table) for i in range(len(fields))] if table else []
        out = "".join("  " + " ".join(v.rjust(w) if f in SIZES or f.endswith("count") else v.ljust(w)
                                      for v, w, f in zip(r, widths, fields)) + "\n" for r in table)
    return Result(5 if err else 0, out, err)


def vgs(host, argv, stdin) -> Result:
    return _report("vgs", argv, "vg", host.load_state())


def lvs(host, argv, stdin) -> Result:
    return _report("lvs", argv, "lv", host.load_state())


UNITS = {"": 1024 ** 2, "b": 1, "s": 512, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5}


def lvcreate(host, argv, stdin) -> Result:
    try:
        opts, args = getopt.gnu_getopt(argv[1:], "yL:l:n:W:Z:", ["yes", "size=", "extents=", "name=",
                                                                 "wipesignatures=", "zero="])
    except getopt.GetoptError as e:
        raise Usage(f"lvcreate: {e.msg}\n  Error during parsing of command line.\n", 3)
    longs = {"--yes": "-y", "--size": "-L", "--extents": "-l", "--name": "-n", "--wipesignatures": "-W", "--zero": "-Z"}
    given = {longs.get(o, o)[1:]: v for o, v in opts}
    if len(args) != 1 or "n" not in given or ("L" in given) == ("l" in given):
        raise Usage("  No command with matching syntax recognised.  Run 'lvcreate --help' for more information.\n"
                    "[simulated] xenbook's sample host simulates lvcreate -L SIZE|-l EXTENTS -n NAME VG\n", 3)
    state, vg, name = host.load_state(), args[0], given["n"]
    info = state.get("lvm", {}).get(vg)
    if info is None:
        return Result(5, "", f'  Volume group "{vg}" not found\n  Cannot process volume group {vg}\n')
    if not re.fullmatch(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]*", name) or name in (".", ".."):
        return Result(3, "", f'  Logical volume name "{name}" is invalid.\n')
    if any(lv["name"] == name for lv in info["lvs"]):
        return Result(5, "", f'  Logical Volume "{name}" already exists in volume group "{vg}"\n')
    size, out = info["extent_size"], ""
    if "L" in given:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)([bskmgtpBSKMGTP]?)", given["L"])
        if not m:
            return Result(3, "", f"  Invalid argument for --size: {given['L']}\n"
                                 "  Error during parsing of command line.\n")
        wanted = int(float(m.group(1)) * UNITS[m.group(2).lower()])
        extents = -(-wanted // size)
        if extents * size != wanted:
            p = max(i for i in range(6) if extents * size >= 1024 ** i)
            out += f"  Rounding up size to full physical extent {extents * size / 1024 ** p:.2f} " \
                   f"{['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'][p]}\n"
    else:
        m = re.fullmatch(r"(\d+)(?:%(FREE|VG))?", given["l"])
        if not m:
            return Result(3, "", f"  Invalid argument for --extents: {given['l']}\n")
        total = sum(pv["pe_count"] for pv in info["pvs"])
        extents = int(m.group(1)) * {None: 0, "FREE": _free(info), "VG": total}[m.group(2)] // 100 \
            if m.group(2) else int(m.group(1))
    if extents > _free(info) or extents == 0:
        return Result(5, out, f'  Volume group "{vg}" has insufficient free space ({_free(info)} extents): '
                              f"{extents} required.\n")
    used = {lv["minor"] for i in state["lvm"].values() for lv in i["lvs"]}
    minor = min(set(range(len(used) + 1)) - used)
    info["lvs"].append({"name": name, "uuid": lvm_uuid(), "extents": extents, "minor": minor})
    state.get("volumes", {}).pop(dm_path(vg, name), None)
    for path, data, mode, link in _lv_nodes(vg, name, minor):
        host.makedirs(posixpath.dirname(path))
        host.remove(path)
        if link:
            os.symlink(link, host.real(path))
        else:
            host.write_atomic(path, data, mode=mode)
    host.save_state(state)
    return Result(0, out + f'  Logical volume "{name}" created.\n', "")


def lvm_uuid() -> str:
    """A new LVM UUID: 32 letters and digits in groups of 6-4-4-4-4-4-6."""
    chars = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                    for _ in range(32))
    return "-".join(chars[a:b] for a, b in ((0, 6), (6, 10), (10, 14), (14, 18), (18, 22), (22, 26), (26, 32)))


PROGRAMS = {"vgs": vgs, "lvs": lvs, "lvcreate": lvcreate}
