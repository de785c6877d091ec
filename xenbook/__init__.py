"""xenbook: an idempotent Jupyter runbook that installs, runs and documents Xen on Arch Linux."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version

try:
    __version__ = _dist_version("xenbook")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
