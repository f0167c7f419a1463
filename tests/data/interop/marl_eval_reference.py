"""marl-eval's own pipeline on rlab's marl-eval export: the reference the export tests compare with.

    pip install --target /tmp/marl-eval --no-deps id-marl-eval colorama   # it pins pandas 1.4.4: kept apart
    PYTHONPATH=/tmp/marl-eval python tests/data/interop/marl_eval_reference.py

For each producer's file (Stoix's metrics through marl-eval's JsonLogger,
marl-eval's README shape, CleanRL's TensorBoard runs, a W&B chart export),
rlab imports it and
exports it as marl-eval JSON (`marl_eval_export_<name>.json`, committed: the
bytes marl-eval read), then runs marl-eval's `DiagnoseData.check_data`,
`data_process_pipeline` and `create_matrices_for_rliable` on that file and
records what they print and return (`marl_eval_processed_<name>.json`): the
format verdicts, the pipeline's summary and, per algorithm, the final
normalised return of each run (the matrix marl-eval's rliable plots use).
"""

from __future__ import annotations

import contextlib
import io
import json
import pathlib
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
# name -> (format, file, import options): every producer's file, imported and exported again.
SOURCES = {
    "stoix": ("marl-eval", HERE / "stoix_metrics.json", {}),
    "readme": ("marl-eval", HERE / "marl_eval_readme.json", {}),
    "cleanrl": ("tensorboard", HERE / "cleanrl" / "runs", {"preset": "cleanrl", "grid": 2048}),
    "wandb": ("wandb", HERE / "wandb_panel.csv", {"preset": "cleanrl", "grid": 2048}),
}


def export_of(kind: str, source: pathlib.Path, target: pathlib.Path, options: dict) -> None:
    from rlab import interop

    with tempfile.TemporaryDirectory() as folder:
        interop.import_runs(kind, source, pathlib.Path(folder) / "imported", **options)
        interop.export("marl-eval", pathlib.Path(folder) / "imported", target)


def processed(path: pathlib.Path) -> dict:
    from marl_eval.utils.data_processing_utils import create_matrices_for_rliable, data_process_pipeline
    from marl_eval.utils.diagnose_data_errors import DiagnoseData

    raw = json.loads(path.read_text())
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        verdicts = DiagnoseData(raw).check_data()
        data = data_process_pipeline(raw, metrics_to_normalize=["return"])
        env = next(iter(raw))
        extra = {k: v for k, v in data.get("extra", {}).items()}
        finals, _ = create_matrices_for_rliable(data, env, metrics_to_normalize=["return"])
    return {"printed": printed.getvalue().splitlines(), "check_data": verdicts, "extra": extra,
            "mean_norm_return": {algo: matrix.tolist() for algo, matrix in finals["mean_norm_return"].items()}}


def main() -> None:
    for name, (kind, source, options) in SOURCES.items():
        target = HERE / f"marl_eval_export_{name}.json"
        export_of(kind, source, target, options)
        (HERE / f"marl_eval_processed_{name}.json").write_text(json.dumps(processed(target), indent=1,
                                                                          default=float) + "\n")


if __name__ == "__main__":
    main()
