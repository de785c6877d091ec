"""A pyinfra deploy of the benchmark's spec (see fixture.py): the file named by XENBOOK_BENCH_SPEC, its paths
under XENBOOK_BENCH_ROOT. One operation per edit."""

import io
import json
import os

from pyinfra.operations import files

root = os.environ["XENBOOK_BENCH_ROOT"]
with open(os.environ["XENBOOK_BENCH_SPEC"]) as f:
    spec = json.load(f)

for i, edit in enumerate(spec):
    path = root + edit["path"]
    if "block" in edit:
        body = edit["body"][:-1] if edit["body"].endswith("\n") else edit["body"]
        files.block(name=f"edit {i}", path=path, content=body, marker="# {mark} xenbook " + edit["block"],
                    begin="BEGIN", end="END")
    else:
        files.put(name=f"edit {i}", src=io.StringIO(edit["content"]), dest=path, mode=edit["mode"][-3:])
