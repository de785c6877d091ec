"""util-linux (libsmartcols) output for the simulated programs: tables, raw, KEY="value" pairs and JSON."""

from __future__ import annotations

import json

from xenbook_sample.options import Usage


def cell_text(value) -> str:
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


def findmnt_cell(mode: str):
    """findmnt's cell text: in a table, MAJ:MIN with the major right- and the minor left-aligned in three places."""
    def text(col, value):
        if col == "MAJ:MIN" and mode == "table" and value:
            major, minor = value.split(":")
            return f"{major:>3}:{minor:<3}"
        return cell_text(value)
    return text


def render(top: str, columns: list[str], rows: list[dict], *, mode: str, headings: bool,
           right: frozenset = frozenset(), tree: bool = False, text=None, tree_column: str | None = None) -> str:
    """Rows (dicts keyed by column name, nested under "children") the way util-linux prints them; a table draws the
    tree in tree_column (the first column when None)."""
    if mode == "json":
        body = _json_rows(_keyed(rows, columns, tree), [c.lower() for c in columns], 0)
        return "\n".join(["{", f'   "{top}": ['] + (body or [""]) + ["   ]", "}"]) + "\n"
    text = text or (lambda col, v: cell_text(v))
    at = 0 if tree_column is None else columns.index(tree_column) if tree_column in columns else None
    flat: list[list[str]] = []

    def walk(items, prefix, nested):
        for i, r in enumerate(items):
            last = i == len(items) - 1
            cells = [text(c, r[c]) for c in columns]
            if nested and mode == "table" and at is not None:
                cells[at] = prefix + ("└─" if last else "├─") + cells[at]
            flat.append(cells)
            if tree:
                walk(r["children"], prefix + (("  " if last else "│ ") if nested else ""), True)

    walk(rows, "", False)
    if mode == "pairs":
        keys = columns  # the names as they are: only --shell (-y) makes them shell identifiers
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


def output_mode(opts: dict) -> str:
    return "json" if "-J" in opts else "pairs" if "-P" in opts else "raw" if "-r" in opts else "table"


def parse_columns(prog: str, value: str, known: list[str]) -> list[str]:
    cols = [c.strip().upper() for c in value.split(",") if c.strip()]
    for c in cols:
        if c not in known:
            raise Usage(f"{prog}: unknown column: {c}\n", 1)
    return cols
