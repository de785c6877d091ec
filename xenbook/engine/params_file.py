"""Saving a section's applied values into the host's YAML parameters file, so `xenbook apply --params`, `xenbook run`
and the notebooks read the same values afterwards. The file is the person's, on the machine running xenbook (not the
target): it keeps its comments and order (edits.yamlfile), is replaced atomically and keeps its mode."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

from xenbook.core.errors import ParameterError
from xenbook.core.model import build
from xenbook.core.section import Section
from xenbook.edits.yamlfile import RoundTripError, set_section
from xenbook.engine.params import RunbookParams, load_file, read_bytes
from xenbook.engine.strict_yaml import load_bytes


def _section_values(section: Section, params: Any, name: str | None = None) -> dict[str, Any] | None:
    """The section's values in params as plain data (for many: the item called name, or the first; None when there
    is none)."""
    value = getattr(params, section.params_field)
    if not section.many:
        return value.model_dump()
    if name is None:
        return value[0].model_dump() if value else None
    item = next((g for g in value if str(g.name).lower() == str(name).lower()), None)
    return None if item is None else item.model_dump()


def not_saved(section: Section) -> frozenset[str]:
    """The section's one-time values, never saved (FORM["not_saved"] beside its model): a domain action, or a
    confirmation to format, holds for the run it was given to and must not repeat on every later one."""
    return frozenset(getattr(sys.modules[section.params.__module__], "FORM", {}).get("not_saved", ()))


def changes(section: Section, applied: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The values of section in applied that the file's data does not give already (by value or by default),
    one-time values left out."""
    now = _section_values(section, applied)
    if now is None:
        return {}
    now = {k: v for k, v in now.items() if k not in not_saved(section)}
    was = _section_values(section, build(RunbookParams, data), now.get("name"))
    if was is None:  # a new item: its name, and what differs from the model's defaults
        was = {**section.params().model_dump(), "name": None}
    return {k: v for k, v in now.items() if was.get(k) != v}


def save_section(path: str, section: Section, applied: Any) -> dict[str, Any]:
    """Set the section's applied values that differ into the file at path; what was set ({} when nothing).
    ParameterError naming the file and the rule when it cannot be edited without losing anything."""
    if not section.params_field:
        return {}
    real = os.path.realpath(path)
    data = load_file(real)
    values = changes(section, applied, data)
    if not values:
        return {}
    mode = os.stat(real).st_mode & 0o7777
    if not mode & 0o222 or not os.access(real, os.W_OK):  # root may write anything: the mode says what is meant
        raise ParameterError([("params_file", path, f"was not changed: it is read-only (mode {mode:04o}) for "
                                                    "this user; make it writable (chmod u+w) to save values into it")])
    raw = read_bytes(real)
    name = applied_name(section, applied) if section.many else None
    try:
        text = raw.decode("utf-8")
        if section.many:
            new = set_section(text, section.params_field, {"name": name, **values}, "name")
        else:
            new = set_section(text, section.params_field, values)
    except (UnicodeDecodeError, RoundTripError) as e:
        raise ParameterError([("params_file", path, f"was not changed: it {e}" if isinstance(e, RoundTripError)
                               else "was not changed: it is not UTF-8")]) from None
    _check(path, section, data, values, name, new)
    write_atomic(real, new.encode("utf-8"))
    return values


def applied_name(section: Section, applied: Any) -> str:
    return getattr(applied, section.params_field)[0].name


def _expected(section: Section, data: dict[str, Any], values: dict[str, Any], name: str | None) -> dict[str, Any]:
    """data as it reads after the edit: values set in the section (in the item called name), nothing else."""
    out = dict(data)
    if not section.many:
        out[section.params_field] = {**(data.get(section.params_field) or {}), **values}
        return out
    items = [dict(i) if isinstance(i, dict) else i for i in data.get(section.params_field) or []]
    item = next((i for i in items if isinstance(i, dict) and str(i.get("name", "")).lower() == str(name).lower()),
                None)
    if item is None:
        items.append(item := {})
    item.update({"name": name, **values})
    out[section.params_field] = items
    return out


def _check(path: str, section: Section, data: dict[str, Any], values: dict[str, Any], name: str | None,
           new: str) -> None:
    """The edited text reads back (strictly, as every entry point reads it) as the file did with values set, and
    nothing else changed (an anchor another part of the file shares would change that part too)."""
    if (load_bytes(new.encode("utf-8"), "params", path) or {}) != _expected(section, data, values, name):
        raise ParameterError([("params_file", path, "was not changed: the edited file would not read back as it "
                                                    "was with only these values set (an anchor or merge key shares "
                                                    "them?); set them there by hand")])


def write_atomic(path: str, data: bytes) -> None:
    """Replace path with data: a temporary file beside it, its mode (and owner where allowed), fsync, rename, fsync
    of the folder; the old file stays whole until the rename."""
    folder, name = os.path.split(path)
    st = os.stat(path)
    fd, tmp = tempfile.mkstemp(dir=folder or ".", prefix=f".{name}.", suffix=".xenbook-new")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), st.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.fchown(f.fileno(), st.st_uid, st.st_gid)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(folder or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
