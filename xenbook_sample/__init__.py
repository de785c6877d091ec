"""xenbook's sample host: a SIMULATED fresh Arch Linux machine in a directory, for trying runbooks safely."""

from xenbook_sample.host import SampleHost, init_sample
from xenbook_sample.profiles import PROFILES

__all__ = ["SampleHost", "init_sample", "PROFILES"]
