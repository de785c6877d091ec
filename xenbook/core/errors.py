"""The exceptions xenbook raises; each message says what failed and what to do."""

from __future__ import annotations

from xenbook.core.masks import MASK, mask_shapes, secret_name


class XenbookError(Exception):
    """Base class of every error xenbook raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for it in a notebook: the message, without a traceback (the message says what failed
        and what to do; a traceback of xenbook's own frames only hides it). IPython calls this instead of formatting
        the traceback, and the kernel still reports the error, so papermill records it and fails the run."""
        first, *rest = str(self).splitlines() or [""]
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {first}", *rest]


def shown(name: object, value: object) -> str:
    """value as a message shows it: its repr, a secret parameter's value (root_password) and anything shaped like a
    password hash or a private key masked, so a secret typed in the wrong place never reaches a log."""
    return MASK if secret_name(str(name)) and value is not None else mask_shapes(repr(_masked(value)))


def _masked(value: object) -> object:
    """value with the values of secret-named keys in its mappings (at any depth) replaced by MASK."""
    if isinstance(value, dict):
        return {k: MASK if secret_name(str(k)) and v is not None else _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_masked(v) for v in value)
    return value


class ParameterError(XenbookError):
    """A parameter value broke a rule; raised before the host is touched."""

    def __init__(self, problems: list[tuple[str, object, str]]):
        self.problems = problems
        lines = [f"parameter {name!s} = {shown(name, value)}: {rule}" for name, value, rule in problems]
        super().__init__("bad input, nothing was changed:\n  " + "\n  ".join(lines))


class TargetError(XenbookError):
    """A target string or host connection is unusable."""


class HostError(XenbookError):
    """Reading or writing on the host failed; remedy says what to do (a report shows it as the step's remedy)."""

    def __init__(self, message: str, remedy: str = ""):
        self.message = message
        self.remedy = remedy
        super().__init__(message + (f"\n  what to do: {remedy}" if remedy else ""))


class ValidationFailed(HostError):
    """A candidate file failed its validator and replaced nothing."""


class PreconditionFailed(XenbookError):
    """Something the step needs is missing; the message names the remedy."""

    def __init__(self, message: str, remedy: str = ""):
        self.message = message
        self.remedy = remedy
        super().__init__(message + (f"\n  what to do: {remedy}" if remedy else ""))


class StepsFailed(XenbookError):
    """At least one step of a run failed."""
