"""The exceptions xenbook raises; each message says what failed and what to do."""

from __future__ import annotations


class XenbookError(Exception):
    """Base class of every error xenbook raises on purpose."""


class ParameterError(XenbookError):
    """A parameter value broke a rule; raised before the host is touched."""

    def __init__(self, problems: list[tuple[str, object, str]]):
        self.problems = problems
        lines = [f"parameter {name!s} = {value!r}: {rule}" for name, value, rule in problems]
        super().__init__("bad input, nothing was changed:\n  " + "\n  ".join(lines))


class TargetError(XenbookError):
    """A target string or host connection is unusable."""


class HostError(XenbookError):
    """Reading or writing on the host failed."""


class CommandFailed(HostError):
    """A command exited non-zero where success was required."""

    def __init__(self, command, result, hint: str = ""):
        self.command = command
        self.result = result
        tail = (result.stderr or result.stdout or "").strip().splitlines()[-5:]
        msg = f"{command} exited {result.returncode}"
        if tail:
            msg += ":\n    " + "\n    ".join(tail)
        if hint:
            msg += f"\n  what to do: {hint}"
        super().__init__(msg)


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
