"""Stable keys, and what earlier releases called them: managed block ids ('# BEGIN xenbook ID', edits/blocks.py),
step names (Step.name, which also name pending markers and the ledger's records) and the headers of the files
xenbook writes whole ('# Managed by xenbook: ...' first lines).

A host keeps what an earlier release wrote, so a release that renames a key adds a Renamed entry to RENAMED rather
than leaving the old key behind: the block edit then replaces a block under the old id in place (never adding a
second one) and drops any leftover, a pending marker under an old step name still triggers its regeneration and is
removed with the current one, a file that starts with an old header is still xenbook's, and the host report files
an old step name's records under the current one. Keys are never reused for something else.

Releases and their keys: 0.1.0 (the first) named every key as today, so RENAMED is empty; tests/test_upgrade.py
applies the previous release's runbook and then this one to the same host, and finds no duplicate or orphan."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("block", "step", "header")


@dataclass(frozen=True)
class Renamed:
    """Release version stopped writing key old of kind and writes new instead."""

    kind: str  # one of KINDS
    old: str
    new: str
    version: str  # the first release that writes new


RENAMED: list[Renamed] = []


def aliases(kind: str, key: str) -> tuple[str, ...]:
    """Every earlier name of key (old → older → ... → key gives all of them), newest first."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of key {kind!r}; choose from {', '.join(KINDS)}")
    found: list[str] = []
    wanted = [key]
    while wanted:
        name = wanted.pop(0)
        for r in RENAMED:
            if r.kind == kind and r.new == name and r.old not in found and r.old != key:
                found.append(r.old)
                wanted.append(r.old)
    return tuple(found)


def current(kind: str, key: str) -> str:
    """The name this release uses for key, which may be an earlier name; a step's subject, 'Name(subject)', stays."""
    head, paren, subject = key.partition("(") if kind == "step" else (key, "", "")
    seen = {head}
    while True:
        nxt = next((r.new for r in RENAMED if r.kind == kind and r.old == head), None)
        if nxt is None or nxt in seen:
            return head + paren + subject
        seen.add(nxt)
        head = nxt
