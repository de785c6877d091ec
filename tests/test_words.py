"""What users read speaks of today's tools: no step reason, remedy, parameter help, report text, README sentence or
notebook text (apart from the background note that ends each notebook) points at "the seed" or "the old guide"."""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [p for pkg in ("xenbook", "xenbook_sample") for p in sorted((ROOT / pkg).rglob("*")) if p.is_file()
            and p.suffix != ".pyc" and "__pycache__" not in p.parts]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# "the seed", "the seed's", "the old guide", "the 2010 guide", "the guide's", "the original guide"...; never
# random-seed, rdseed or a variable called seed (names are not text)
PAST = re.compile(r"(?<![\w/-])seed(?![\w-])|\b(old|original|2010|wiki|Spanish) guide|\bthe guide\b|\bguide's",
                  re.IGNORECASE)


def texts_of(path: Path) -> list[str]:
    """The text a file can show a user: every string literal of a module (docstrings included), or the whole file."""
    source = path.read_text(errors="replace")
    if path.suffix != ".py":
        return [source]
    return [n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


@pytest.mark.parametrize("text", ["the seed's notes", "the old guide's menu.lst", "The 2010 guide added",
                                  "what the guide did", "as the Seed says"])
def test_the_pattern_finds_the_past(text):
    assert PAST.search(text)


@pytest.mark.parametrize("text", ["/boot/loader/random-seed", "rdseed adx smap", "seeds of a random generator",
                                  "a guide agent", "the boot section's guidance"])
def test_the_pattern_leaves_other_words(text):
    assert not PAST.search(text)


def test_package_texts_speak_of_today():
    found = [f"{p.relative_to(ROOT)}: {m.group(0)!r} in {t[max(0, m.start() - 40):m.end() + 40]!r}"
             for p in PACKAGES for t in texts_of(p) for m in PAST.finditer(t)]
    assert not found, "\n".join(found)


def test_readme_speaks_of_today():
    found = [line for line in (ROOT / "README.md").read_text().splitlines() if PAST.search(line)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_keep_history_to_their_background_note(path):
    cells = json.loads(path.read_text())["cells"]
    markdown = [c for c in cells if c["cell_type"] == "markdown"]
    for cell in cells:
        if cell is markdown[-1]:
            assert "".join(cell["source"]).startswith("## Background: the 2010 guide")
            continue
        text = "".join(cell["source"])
        assert not PAST.search(text) and "2010" not in text and "Spanish" not in text, \
            f"{path.name}, cell {cell.get('id')}: {text[:200]}"
