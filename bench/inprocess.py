"""A section's steps called in-process on a sample host, as a notebook's cell calls them (what `xenbook run`
wraps in a kernel). Prints JSON: the seconds of imports and parameters, and of the steps alone.

    python bench/inprocess.py SAMPLE_DIR SECTION"""

import json
import sys
import time

started = time.perf_counter()
from xenbook.cli.main import load_params  # noqa: E402
from xenbook.engine.registry import run_sections  # noqa: E402
from xenbook.connectors.targets import open_host  # noqa: E402

from samples import PARAMS  # noqa: E402


def main(sample: str, section: str) -> None:
    params = load_params(str(PARAMS), f"sample:{sample}", section, ())
    ready = time.perf_counter()
    with open_host(params.target) as host:
        report = run_sections(host, params, [section], dry_run=True)
    done = time.perf_counter()
    print(json.dumps({"setup_s": round(ready - started, 4), "steps_s": round(done - ready, 4),
                      "steps": len(report.steps), "failed": report.failed}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
