"""The host report as data: a document of titled parts holding paragraphs, headings, tables, files, diffs and
images; report.page renders it."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field


@dataclass
class Table:
    """Rows of text cells under a header; cells holding a known status are coloured."""

    head: list[str]
    rows: list[list[str]]


@dataclass
class Code:
    """A file's text (or a part of it) or a unified diff, under a caption."""

    caption: str
    text: str
    diff: bool = False


@dataclass
class Image:
    """A picture embedded in the page itself (the dashboard's snapshot charts)."""

    caption: str
    mime: str
    data: bytes

    def uri(self) -> str:
        return f"data:{self.mime};base64," + base64.b64encode(self.data).decode()


@dataclass
class Heading:
    """A small heading inside a part."""

    text: str


Block = str | Heading | Table | Code | Image


@dataclass
class Part:
    """One titled part of the report."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


@dataclass
class Document:
    """A whole report: a title, warnings shown first, and its parts in order."""

    title: str
    subtitle: str
    banners: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
