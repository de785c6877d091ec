"""One host's whole parameter set, shared by notebooks, the CLI and one YAML file per host: how to reach the host,
and each registered section's parameters under its field."""

from __future__ import annotations

import functools
import os
import stat
from typing import Annotated, Any

from pydantic import AfterValidator, Field, create_model, field_validator

from xenbook.connectors.targets import parse_target
from xenbook.core.errors import ParameterError
from xenbook.core.model import Model, build, did_you_mean, size_mib  # noqa: F401  (build and size_mib are part of this interface)
from xenbook.engine.backups import DEFAULT_KEEP
from xenbook.engine.registry import sections as registered_sections
from xenbook.engine.strict_yaml import MAX_BYTES, load_bytes
from xenbook.safety.validators import names as validator_names


class HostParams(Model):
    """The parameters every runbook has: the target, how to reach it, plan or apply, and which sections."""

    target: str = Field("sample", description="local, ssh:[user@]host[:port], chroot:DIR, or sample[:DIR] (a "
                                              "simulated Arch host)")
    sudo: bool = Field(False, description="run commands through sudo on local and ssh targets")
    ssh_config: str | None = Field(None, description="path of an ssh_config file for ssh targets, or None for the "
                                                     "user's own")
    dry_run: bool = Field(True, description="True plans only (reads, never writes); False applies the changes")
    sections: list[str] | None = Field(None, description="sections to run, in runbook order; empty for all")
    keep_backups: int | None = Field(DEFAULT_KEEP, ge=1, description="an apply keeps the backups of this many runs "
                                     "(the newest) under /var/lib/xenbook/backups and removes older ones; null keeps all")
    allow_unvalidated: list[str] = Field(default_factory=list, description="checks (validators) whose tool may be "
                                         "missing on the target: the file is then written unchecked and reported "
                                         "'not validated'; any other missing check fails its step")

    @field_validator("target")
    @classmethod
    def _target(cls, v: str) -> str:
        parse_target(v)
        return v

    @field_validator("allow_unvalidated")
    @classmethod
    def _allow_unvalidated(cls, v: list[str]) -> list[str]:
        known = validator_names()
        for name in v:
            if name not in known:
                raise ValueError(f"unknown check {name!r}; choose from {', '.join(known)}")
        return v

    @field_validator("sections")
    @classmethod
    def _sections(cls, v: list[str] | None) -> list[str] | None:
        names = list(registered_sections())
        for name in v or []:
            if name not in names:
                raise ValueError(f"unknown section {name!r}{did_you_mean(name, names)}; choose from {', '.join(names)}")
        return v


@functools.cache
def runbook_model() -> type[HostParams]:
    """RunbookParams: HostParams and a field per section that has parameters, in runbook order."""
    fields: dict[str, Any] = {}
    for s in registered_sections().values():
        if s.params_field and s.params is not None:
            kind = list[s.params] if s.many else s.params
            if s.many and s.check_items:
                kind = Annotated[kind, AfterValidator(s.check_items)]
            fields[s.params_field] = (kind, Field(default_factory=list if s.many else s.params,
                                                  description=s.params_help or s.title))
    model = create_model("RunbookParams", __base__=HostParams, __module__=__name__, **fields)
    model.__doc__ = "Everything one host's runbook needs: the target, how to reach it, and each section's parameters."
    return model


def __getattr__(name: str):
    if name == "RunbookParams":  # built on first use, from the sections found then
        return runbook_model()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def read_bytes(path: str) -> bytes:
    """A parameters file's bytes (MAX_BYTES + 1 at most: load_bytes refuses more); a FIFO, device or folder is
    refused before anything reads it (reading a FIFO would wait for a writer forever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # opening a FIFO this way does not wait
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ParameterError([("params", path, "is no regular file (a FIFO, a device or a folder): name "
                                                       "the YAML file itself")])
            return f.read(MAX_BYTES + 1)
    except OSError as e:
        raise ParameterError([("params", path, f"cannot be read: {e.strerror}")]) from None


def load_file(path: str) -> dict[str, Any]:
    """The mapping in a YAML parameters file (read strictly: see strict_yaml)."""
    data = load_bytes(read_bytes(path), "params", path) or {}
    if not isinstance(data, dict):
        raise ParameterError([("params", path, "must hold a mapping of parameter names to values")])
    for key in data:
        if not isinstance(key, str):
            raise ParameterError([("params", path, f"has the key {key!r}, which is no parameter name: parameter "
                                                   "names are text, e.g. target or boot")])
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """base updated by override, nested mappings merged; None in override keeps base's value."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
