"""The doctor's catalogue (catalogue.yaml beside this module) and its matcher: evidence in, findings out (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

from xenbook.facts.evidence import Evidence
from xenbook.safety.redact import redact

AREAS = ("boot", "xen", "services", "network", "guests")
EVIDENCE_LINES = 4  # lines shown per clause


@dataclass(frozen=True)
class Clause:
    source: str
    pattern: re.Pattern
    negative: bool  # "lacks": the source was read and no line matches
    says: str = ""

    def holds(self, ev: Evidence) -> tuple[bool, list[str]]:
        """(whether it holds, the evidence lines that show it)."""
        lines = ev.sources.get(self.source)
        if lines is None:  # unreadable or not gathered: never evidence either way
            return False, []
        hits = [line for line in lines if self.pattern.search(line)]
        if self.negative:
            return not hits, [self.says or f"{self.source}: no line matches /{self.pattern.pattern}/"]
        return bool(hits), [f"{self.source}: {line}" for line in hits[-EVIDENCE_LINES:]]


@dataclass(frozen=True)
class Signature:
    id: str
    area: str
    title: str
    cause: str
    fix: str
    source: tuple[str, ...]
    when: tuple[Clause, ...] = ()
    any: tuple[Clause, ...] = ()
    unless: tuple[str, ...] = ()
    step: str = ""

    def match(self, ev: Evidence) -> "Finding | None":
        shown: list[str] = []
        for clause in self.when:
            ok, lines = clause.holds(ev)
            if not ok:
                return None
            shown += lines
        if self.any:
            hits = [lines for ok, lines in (c.holds(ev) for c in self.any) if ok]
            if not hits:
                return None
            shown = [line for lines in hits for line in lines] + shown
        logs = [line for line in shown if not line.startswith("facts: ")]
        facts = [line for line in shown if line.startswith("facts: ")]
        return Finding(self, tuple(dict.fromkeys(redact(line) for line in logs + facts)))  # logs may hold secrets


@dataclass(frozen=True)
class Finding:
    signature: Signature
    evidence: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        s = self.signature
        return {"id": s.id, "area": s.area, "title": s.title, "cause": " ".join(s.cause.split()),
                "evidence": list(self.evidence), "fix": s.fix, "step": s.step, "source": list(s.source)}


class CatalogueError(ValueError):
    pass


def _clauses(entry: dict, key: str) -> tuple[Clause, ...]:
    out = []
    for raw in entry.get(key) or []:
        if set(raw) - {"source", "match", "lacks", "says"} or ("match" in raw) == ("lacks" in raw) or "source" not in raw:
            raise CatalogueError(f"{entry.get('id')}: {key} clause {raw!r} needs source and one of match or lacks")
        try:
            pattern = re.compile(raw.get("match") or raw["lacks"])
        except re.error as e:
            raise CatalogueError(f"{entry.get('id')}: bad regex {raw!r}: {e}") from None
        out.append(Clause(raw["source"], pattern, "lacks" in raw, raw.get("says", "")))
    return tuple(out)


def parse(entries: list) -> tuple[Signature, ...]:
    """Signatures from the YAML list; CatalogueError names the entry and what is wrong with it."""
    out, seen = [], set()
    for entry in entries:
        missing = {"id", "area", "title", "cause", "fix", "source"} - set(entry)
        if missing or entry["area"] not in AREAS or entry["id"] in seen:
            raise CatalogueError(f"catalogue entry {entry.get('id')!r}: missing {sorted(missing)}, an area not in "
                                 f"{AREAS}, or an id used twice")
        if not entry.get("when") and not entry.get("any"):
            raise CatalogueError(f"catalogue entry {entry['id']!r} has no matcher (when or any)")
        seen.add(entry["id"])
        out.append(Signature(entry["id"], entry["area"], entry["title"], entry["cause"], entry["fix"],
                             tuple(entry["source"]), _clauses(entry, "when"), _clauses(entry, "any"),
                             tuple(entry.get("unless") or ()), entry.get("step", "")))
    unknown = {u for s in out for u in s.unless} - seen
    if unknown:
        raise CatalogueError(f"unless names unknown ids: {sorted(unknown)}")
    return tuple(out)


@lru_cache(maxsize=1)
def catalogue() -> tuple[Signature, ...]:
    text = resources.files(__package__).joinpath("catalogue.yaml").read_text(encoding="utf-8")
    return parse(yaml.safe_load(text))


def diagnose(ev: Evidence, signatures: tuple[Signature, ...] | None = None) -> list[Finding]:
    """Every signature the evidence matches, in catalogue order, less those another finding makes moot."""
    found = [f for f in (s.match(ev) for s in signatures or catalogue()) if f is not None]
    ids = {f.signature.id for f in found}
    return [f for f in found if not ids & set(f.signature.unless)]
