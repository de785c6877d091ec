"""papermill with its per-cell save on or off (request_save_on_cell_execute), in one cold process.

    python bench/papermill_case.py boot OUT_DIR on|off SAMPLE_DIR   the boot section's notebook, as `xenbook run`
                                                                     executes it (dry run)
    python bench/papermill_case.py cells OUT_DIR on|off             200 trivial cells (x = i)"""

import json
import sys
import time
from pathlib import Path

CELLS = 200


def trivial_notebook(path: Path) -> Path:
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"x = {i}") for i in range(CELLS)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def main(case: str, out: str, save: str, sample: str = "") -> None:
    started = time.perf_counter()
    import papermill

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if case == "boot":
        from xenbook.cli.main import load_params
        from xenbook.cli.run import notebooks_dir
        from xenbook.ui.notebook import flat_params
        from xenbook.engine.registry import SECTIONS

        from samples import PARAMS
        params = load_params(str(PARAMS), f"sample:{sample}", "boot", ())
        source = notebooks_dir() / SECTIONS["boot"].notebook
        parameters = flat_params(SECTIONS["boot"], params) | {"report_path": str(out_dir / "boot.report.json")}
    else:
        source, parameters = trivial_notebook(out_dir / "cells.ipynb"), {}
    papermill.execute_notebook(str(source), str(out_dir / f"out-{case}.ipynb"), parameters=parameters,
                               kernel_name="python3", progress_bar=False, cwd=str(out_dir),
                               request_save_on_cell_execute=save == "on")
    size = (out_dir / f"out-{case}.ipynb").stat().st_size
    print(json.dumps({"seconds": round(time.perf_counter() - started, 4), "notebook_bytes": size}))


if __name__ == "__main__":
    main(*sys.argv[1:])
