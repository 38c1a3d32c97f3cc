"""The tuned models of a report: each unit's refit best estimator under ``models/<dataset>/<model>/``,
and the section that lists them."""

from __future__ import annotations

import json
from pathlib import Path

from study.folders import MODELS, atomic_write_text
from study.names import file_name
from study.report.format import escape, markdown_table

__all__ = ["model_folder", "write_models", "models_section"]


def model_folder(out, dataset: str, model: str) -> Path:
    """``out/models/<dataset>/<model>``, the names made file names by ``study.names.file_name`` (inside
    ``out/models``, distinct for distinct names)."""
    return Path(out) / MODELS / file_name(dataset) / file_name(model)


def write_models(result, out: Path, settings: dict) -> dict:
    """Write every kept model of ``result`` into the (staging) report folder ``out``.

    Each folder holds the files of its :class:`study.model_store.SavedModel` (``estimator.pkl``, the
    ``network-<i>.keras`` files) and ``model.json`` (written last): the dataset and model names,
    the framework, the study's ``settings``, the best parameters, the feature columns, the
    classes, the hold-out scores and the library versions.

    Parameters
    ----------
    result : study.orchestrator.StudyResult
    out : pathlib.Path
        The staging report folder.
    settings : dict
        The study's settings (``StudySpec.settings``), recorded in each ``model.json``.

    Returns
    -------
    dict of (str, str) to pathlib.Path or str
        Per unit with a packed model: its folder, or why it was not kept (one line).
    """
    frameworks = dict(zip(zip(result.results["dataset"], result.results["model"]), result.results["framework"]))
    written = {}
    for (dataset, model), saved in result.models.items():
        if not saved.ok:
            written[dataset, model] = saved.error or "not kept"
            continue
        folder = model_folder(out, dataset, model)
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in saved.files.items():
            (folder / name).write_bytes(data)
        description = saved.description(dataset=dataset, model=model,
                                        framework=frameworks.get((dataset, model)), study=settings)
        atomic_write_text(folder / "model.json", json.dumps(description, indent=2, default=str) + "\n")
        written[dataset, model] = folder
    return written


def models_section(written: dict, out: Path) -> str:
    """The "Stored models" section: where each unit's tuned model is and how to use it ("" when
    no unit kept one)."""
    if not written:
        return ""
    rows = [[escape(dataset), escape(model), f"`{where.relative_to(out).as_posix()}/`" if isinstance(where, Path)
             else f"not kept: {escape(where)}"] for (dataset, model), where in written.items()]
    example = next((where.relative_to(out).as_posix() for where in written.values() if isinstance(where, Path)),
                   "models/<dataset>/<model>")
    return ("## Stored models\n\nEach unit's best candidate, refit on the whole training part (its preprocessing "
            "fitted there), with `model.json` (the study's settings, the best parameters, the feature columns and "
            "the classes). Predict on new rows with the same columns (paths relative to this report's folder):\n\n"
            f"```bash\npython -m study.predict --model {example} --data new.csv --out predictions.csv\n```\n\n"
            "or from Python: `study.load_model(path).predict(X)`.\n\n"
            + markdown_table(["dataset", "model", "folder"], rows) + "\n")
