"""Managed blocks between '# BEGIN xenbook ID' and '# END xenbook ID' markers; lines outside are never touched.

A block an earlier release wrote under another id (core/renames.py) counts as the block: it is found, replaced in
place and removed under the current id, so a renamed id never leaves a second block behind."""

from __future__ import annotations

from xenbook.core.renames import aliases


def markers(block_id: str, comment: str = "#") -> tuple[str, str]:
    return f"{comment} BEGIN xenbook {block_id}", f"{comment} END xenbook {block_id}"


def find_block(text: str, block_id: str, comment: str = "#") -> tuple[int, int] | None:
    """Line indexes (begin, end) of the block's markers (under block_id, else under an earlier id), or None;
    ValueError when they are unbalanced."""
    for key in (block_id, *aliases("block", block_id)):
        found = _find_exact(text, key, comment)
        if found is not None:
            return found
    return None


def _find_exact(text: str, block_id: str, comment: str) -> tuple[int, int] | None:
    begin, end = markers(block_id, comment)
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == begin]
    ends = [i for i, line in enumerate(lines) if line.strip() == end]
    if not starts and not ends:
        return None
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError(f"the xenbook block {block_id!r} markers are broken "
                         f"({len(starts)} BEGIN, {len(ends)} END lines); fix them by hand first")
    return starts[0], ends[0]


def get_block(text: str, block_id: str, comment: str = "#") -> str | None:
    """The lines inside the block (without markers), or None when there is no block."""
    found = find_block(text, block_id, comment)
    if found is None:
        return None
    lines = text.splitlines(keepends=True)
    return "".join(lines[found[0] + 1:found[1]])


def ensure_block(text: str, block_id: str, body: str, comment: str = "#") -> str:
    """Text holds exactly one block block_id with body; replaced in place, or appended at the end."""
    begin, end = markers(block_id, comment)
    if body and not body.endswith("\n"):
        body += "\n"
    block = f"{begin}\n{body}{end}\n"
    found = find_block(text, block_id, comment)
    lines = text.splitlines(keepends=True)
    if found is None:
        if text and not text.endswith("\n"):
            text += "\n"
        return text + block
    text = "".join(lines[:found[0]]) + block + "".join(lines[found[1] + 1:])
    return _without_aliases(text, block_id, comment)


def remove_block(text: str, block_id: str, comment: str = "#") -> str:
    """Text without block block_id (and its markers), nor blocks under its earlier ids."""
    return _without_aliases(_remove_exact(text, block_id, comment), block_id, comment)


def _remove_exact(text: str, block_id: str, comment: str) -> str:
    found = _find_exact(text, block_id, comment)
    if found is None:
        return text
    lines = text.splitlines(keepends=True)
    return "".join(lines[:found[0]] + lines[found[1] + 1:])


def _without_aliases(text: str, block_id: str, comment: str) -> str:
    """Text without the blocks an earlier release left under block_id's earlier ids."""
    for old in aliases("block", block_id):
        text = _remove_exact(text, old, comment)
    return text


