"""Folders the slow tiers keep for people to look at (ISOs, consoles, screenshots), named once more at the end."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS: list[str] = []  # the root conftest.py prints these in pytest's terminal summary


def artifact_dir(tmp_path_factory, name: str, what: str) -> Path:
    """A new folder for artifacts; its path is printed now and again in the summary."""
    folder = tmp_path_factory.mktemp(name)
    ARTIFACTS.append(f"{what}: {folder}")
    print("\n" + ARTIFACTS[-1])
    return folder
