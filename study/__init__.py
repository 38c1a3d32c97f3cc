"""Generalization study: the same folds for classical and deep models, honest estimates.

>>> from study import StudySpec, run_study, write_report          # doctest: +SKIP
>>> result = run_study(StudySpec(datasets=("wine",), models=("ridge",), quick=True))
>>> result.results.head()                             # the tidy results table
>>> write_report(result, "out/")                      # report.md, report.html, the CSV tables, figures, models
>>> load_model("out/models/wine/ridge").predict(X)    # a unit's tuned model, stored with the report

Attributes are imported lazily so ``python -m study.run --help`` stays fast.
"""

__all__ = ["StudySpec", "StudyResult", "run_study", "write_report", "summarize", "load_model"]

_EXPORTS = {
    "StudySpec": "study.spec",
    "StudyResult": "study.orchestrator",
    "run_study": "study.orchestrator",
    "write_report": "study.report",
    "summarize": "study.results",
    "load_model": "study.model_store",
}


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'study' has no attribute {name!r}")
