"""Host operations in one whole-runbook plan on a sample host: reads, stats, listings and commands, and how many
of them repeat one already made. On an ssh or sudo target each one is a round trip (a command on the host), so
repeats cost there what they do not cost on a local tree. Prints JSON.

    python bench/hostops.py SAMPLE_DIR"""

import collections
import json
import sys

from samples import PARAMS

from xenbook.cli.main import load_params
from xenbook.engine.registry import run_sections
from xenbook_sample.host import SampleHost

OPS = ("read_bytes", "stat", "listdir", "run")


def main(sample: str) -> None:
    seen: collections.Counter = collections.Counter()
    inner = {"depth": 0}  # the simulator's own reads while it answers a command are not the steps' operations

    def counting(name, original):
        def wrapper(self, arg, *args, **kwargs):
            if inner["depth"] == 0:
                seen[(name, arg if isinstance(arg, str) else " ".join(arg.argv))] += 1
            if name == "run":
                inner["depth"] += 1
            try:
                return original(self, arg, *args, **kwargs)
            finally:
                if name == "run":
                    inner["depth"] -= 1
        return wrapper

    for name in OPS:
        setattr(SampleHost, name, counting(name, getattr(SampleHost, name)))
    params = load_params(str(PARAMS), f"sample:{sample}", None, ())
    host = SampleHost(sample)
    report = run_sections(host, params, dry_run=True)
    total = collections.Counter()
    repeats = collections.Counter()
    for (name, _arg), n in seen.items():
        total[name] += n
        repeats[name] += n - 1
    top = [{"op": name, "arg": arg, "times": n} for (name, arg), n in seen.most_common() if n > 1][:8]
    print(json.dumps({"steps": len(report.steps), "total": dict(total), "repeats": dict(repeats), "top": top}))


if __name__ == "__main__":
    main(sys.argv[1])
