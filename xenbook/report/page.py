"""The host report as a document of parts (paragraphs, tables, files, diffs, images), rendered as HTML or Markdown.

The HTML is one self-contained page: inline CSS, images as data: URIs, no scripts and no external assets."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field

from xenbook.core.document import Block, Code, Document, Heading, Image, Part, Table  # noqa: F401  (the page's model)
from xenbook.engine.results import VERDICT_COLOURS, diff_html

STATUS_COLOURS = {"ok": "#2e7d32", "would-change": "#b26a00", "changed": "#1565c0", "failed": "#c62828",
                  "skipped": "#616161", "interrupted": "#c62828", "warning": "#b26a00", "blocking": "#c62828",
                  "enabled": "#2e7d32", "disabled": "#616161", "active": "#2e7d32", "inactive": "#616161",
                  "running": "#2e7d32", "blocked": "#2e7d32", "not running": "#616161"}
STATUS_COLOURS.update(VERDICT_COLOURS)


# Long lines wrap (overflow-wrap:anywhere also narrows a table's columns), so no line is wider than the page; the
# "changed only" checkbox hides the quiet rows of the status tables with a sibling selector, no script.
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:72em;padding:1.5em;
color:#212121;line-height:1.45;overflow-wrap:anywhere}
h1{margin-bottom:.1em}h3{margin:1.2em 0 .3em;font-size:1.05em}h2{border-bottom:2px solid #e0e0e0;padding-bottom:.2em;margin-top:1.8em}
.sub{color:#616161;margin-top:0}
.banner{border:1px solid #b26a00;background:#fff3e0;padding:.4em .8em;margin:.4em 0;border-radius:4px}
.filter{font-size:14px;margin-left:.3em;cursor:pointer}
#changed-only:checked~section tr.quiet{display:none}
nav ol{columns:2;padding-left:1.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:14px;max-width:100%}
th,td{border:1px solid #d0d0d0;padding:3px 8px;vertical-align:top;text-align:left;overflow-wrap:anywhere}
th{background:#f5f5f5}
figure{margin:.8em 0}figcaption{font-weight:600;font-size:14px;margin-bottom:2px}
pre{background:#fafafa;border:1px solid #e0e0e0;padding:6px 8px;font-size:12px;line-height:1.3;margin:0;
white-space:pre-wrap;overflow-wrap:anywhere}
img{max-width:100%;border:1px solid #e0e0e0}
@media print{nav,#changed-only,.filter{display:none}}
"""
STATUS_HEADS = ("status", "last recorded", "plan now", "verdict")  # the columns "changed only" reads
QUIET = ("ok", "skipped")


def _cell(text: str) -> str:
    colour = STATUS_COLOURS.get(text)
    body = html.escape(text, quote=False).replace("\n", "<br>")
    return f'<td style="color:{colour};font-weight:600">{body}</td>' if colour else f"<td>{body}</td>"


def _quiet(table: Table, row: list[str]) -> bool:
    """A row whose statuses are all ok or skipped (the rows "changed only" hides); rows of other tables never are."""
    states = [c for h, c in zip(table.head, row) if h in STATUS_HEADS and c]
    return bool(states) and all(c in QUIET for c in states)


def _html_block(block: Block) -> str:
    if isinstance(block, Table):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.head)
        rows = "".join(("<tr class='quiet'>" if _quiet(block, row) else "<tr>") + "".join(_cell(c) for c in row)
                       + "</tr>" for row in block.rows)
        return f"<table><tr>{head}</tr>{rows}</table>"
    if isinstance(block, Code):
        body = diff_html(block.text) if block.diff else f"<pre>{html.escape(block.text, quote=False)}</pre>"
        return f"<figure><figcaption>{html.escape(block.caption)}</figcaption>{body}</figure>"
    if isinstance(block, Heading):
        return f"<h3>{html.escape(block.text)}</h3>"
    if isinstance(block, Image):
        return (f'<figure><figcaption>{html.escape(block.caption)}</figcaption>'
                f'<img alt="{html.escape(block.caption)}" src="{block.uri()}"></figure>')
    return f"<p>{html.escape(block, quote=False)}</p>"


def to_html(doc: Document) -> str:
    """The document as one HTML page that needs nothing else to display."""
    nav = "".join(f'<li><a href="#{p.anchor}">{html.escape(p.title)}</a></li>' for p in doc.parts)
    banners = "".join(f'<div class="banner">{html.escape(b)}</div>' for b in doc.banners)
    parts = "".join(f'<section id="{p.anchor}"><h2>{html.escape(p.title)}</h2>'
                    + "".join(_html_block(b) for b in p.blocks) + "</section>" for p in doc.parts)
    return ("<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(doc.title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{html.escape(doc.title)}</h1><p class='sub'>{html.escape(doc.subtitle)}</p>{banners}"
            "<input type='checkbox' id='changed-only'><label class='filter' for='changed-only'>changed only: hide "
            "the rows whose status is ok or skipped</label>"
            f"<nav><ol>{nav}</ol></nav>{parts}</body></html>\n")


_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")  # emphasis, code, links, table cells, strikethrough
_MD_LINE_START = re.compile(r"^(\s*)([#+=>-]|\d+(?=[.)]))")  # headings, lists, setext lines, quotes, numbered items


def _md_line(line: str) -> str:
    """One line of host text as Markdown that shows it literally: HTML as entities, Markdown's marks escaped."""
    line = _MD_INLINE.sub(r"\\\1", html.escape(line, quote=False))
    return _MD_LINE_START.sub(lambda m: m.group(1) + ("\\" + m.group(2) if not m.group(2)[0].isdigit()
                                                      else m.group(2) + "\\"), line, count=1)


def _md_text(text: str, joint: str = "\n") -> str:
    """Host text (one line or several) shown literally, its lines joined by joint."""
    return joint.join(_md_line(line) for line in text.splitlines())


def _md_cell(text: str) -> str:
    return _md_text(text, "<br>") or " "


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    return "`" * (longest + 1)


def _md_block(block: Block) -> str:
    if isinstance(block, Table):
        lines = ["| " + " | ".join(_md_cell(h) for h in block.head) + " |",
                 "|" + "---|" * len(block.head)]
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    if isinstance(block, Code):
        fence = _fence(block.text)
        text = block.text if block.text.endswith("\n") else block.text + "\n"
        return f"**{_md_text(block.caption, ' ')}**\n\n{fence}{'diff' if block.diff else 'text'}\n{text}{fence}"
    if isinstance(block, Heading):
        return f"### {_md_text(block.text, ' ')}"
    if isinstance(block, Image):
        caption = _md_text(block.caption, " ")
        return f"**{caption}**\n\n![{caption}]({block.uri()})"
    return _md_text(block)


def to_markdown(doc: Document) -> str:
    """The same document as Markdown (tables, fenced files and diffs, images as data: URIs)."""
    out = [f"# {_md_text(doc.title, ' ')}", f"_{_md_text(doc.subtitle, ' ')}_"]
    out += [f"> **{_md_text(b, ' ')}**" for b in doc.banners]
    for p in doc.parts:
        out.append(f"## {_md_text(p.title, ' ')}")
        out += [_md_block(b) for b in p.blocks]
    return "\n\n".join(out) + "\n"
