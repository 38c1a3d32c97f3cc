"""The report: a study's tables -> report.md, the CSV tables, study.json and the figures.

:func:`write_report` writes everything a study produced, from its :class:`~study.orchestrator.StudyResult`
alone; the command line calls it too, so a report written from Python is the command line's
report. It reads only the tables and never fits anything. The report folder is the folder
service's (``study.folders``): checked and locked (by the command line before training, which
hands over the folder it holds), the report built in a staging folder and swapped in as a whole.
A figure is drawn only when its data or code changed (``study.report.figures``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from study.folders import FIGURES, ReportFolder, atomic_write_text, report_folder
from study.report.learning_validation import learning_curves_section, validation_curves_section
from study.report.data_checks import data_checks_section
from study.report.figures import drawing_together
from study.report.format import anchor, escape
from study.report.glance import glance_section
from study.report.html import report_html
from study.report.imbalance import imbalance_section, per_class_section
from study.report.importance import importance_section
from study.report.keras import ablation_section, histories_section
from study.report.overview import dataset_sections, protocol_section
from study.report.models import models_section, write_models
from study.report.scores import score_curves_section, search_section
from study.report.statistics import statistics_section
from study.report.verdicts import failures_section, verdicts_section
from study.results import BASELINE, primary_metric, without_baseline
from study.store import Store
from study.statistics.rows import ok_rows
from study.workers import Workers, using

__all__ = ["write_report", "LOCK_WAIT"]

LOCK_WAIT = 10.0
"""Seconds :func:`write_report` waits for another process to release the report folder."""

DIAGNOSTIC_SECTIONS = (learning_curves_section, validation_curves_section, histories_section, ablation_section,
                       imbalance_section)
"""Sections of the experiments, in report order (written when the study ran its diagnostics)."""


def write_report(result, out, workers=None) -> Path:
    """Write every file of a study's report into ``out``, replacing the previous report as a whole.

    Files: ``report.md`` ("At a glance": per dataset the models' CV and hold-out scores, verdicts,
    remedies and the answer in one sentence, the data's severe findings; then the protocol, the data checks
    (``study.report.data_checks``), a side-by-side table and figures per dataset, the
    statistical comparison, the fit verdicts, what each model learned (permutation importance), the
    diagnostics' sections, per-class recall, the stored models, the failures), ``report.html`` (the
    same sections as one self-contained page: a table of contents, figures embedded;
    ``study.report.html``), ``results.csv``, ``predictions.csv``, one ``<table>.csv`` per table of
    ``result.tables``, ``study.json`` (the settings, and ``data_notes``: the notices about the
    datasets), ``figures/*.png`` and ``models/<dataset>/<model>/`` (each successful unit's refit best estimator and its
    ``model.json``; ``study.report.models``, loaded by ``study.model_store.load_model``). They are
    written into a staging folder beside ``out`` that is then swapped in
    (``study.folders``): a reader or a killed run sees the complete previous report or
    the complete new one, never a mix. A figure whose content did not change
    is not drawn again: it is kept from the previous report, or copied from the study's cache
    (``result.spec.cache_dir``), which keeps every figure drawn. When no unit succeeded, the
    report holds the protocol, the failed units and the failures; the sections that need scores
    are left out.

    Parameters
    ----------
    result : study.orchestrator.StudyResult
        What ``study.run_study`` returned.
    out : str, pathlib.Path or study.folders.ReportFolder
        Output folder: new (created), empty, or a previous report of this tool. A held
        ``ReportFolder`` (what the command line holds, from ``study.folders.study_folders``) is
        written into at once, as it was checked and locked already; anything else is checked
        and locked here (``study.folders.report_folder``).
    workers : study.workers.Workers or None, default=None
        Where the figures are drawn (the command line passes the study's workers); None:
        ``Workers.for_figures(result.spec)``, made and closed here.

    Returns
    -------
    pathlib.Path
        The path of ``report.md``.

    Raises
    ------
    study.folders.FolderError
        ``out`` is a file, cannot be created or written, or holds files this tool does not
        write (the message names one); nothing is written then. An ``InputError``.
    study.folders.FolderInUse
        Another process (e.g. a study on the same folder) held ``out``'s lock for
        :data:`LOCK_WAIT` seconds.
    OSError
        A file could not be written (e.g. a full disk): the previous report is left as it was.
    """
    if isinstance(out, ReportFolder):
        if out.held:
            return _replace(result, out, workers)
        out = out.path
    with report_folder(out, wait=LOCK_WAIT) as folder:
        return _replace(result, folder, workers)


def _replace(result, folder: ReportFolder, workers) -> Path:
    """The report written into a staging folder, then swapped in for ``folder``; the path of ``report.md``."""
    with folder.replacing() as staging, using(workers, lambda: Workers.for_figures(result.spec)) as workers:
        _write(result, staging, workers)
    return folder.path / "report.md"


def _drop_unlinked_figures(folder: Path, report: str) -> None:
    """Remove the figures ``report`` (the text of ``report.md``) does not show: a previous
    report's that this one did not draw again."""
    figures = folder / FIGURES
    if not figures.is_dir():
        return
    shown = set(re.findall(r"\]\(figures/([^)\s]+)\)", report))
    for path in figures.glob("*.png"):
        if path.name not in shown:
            path.unlink()
    if not any(figures.iterdir()):
        figures.rmdir()


def _write(result, out: Path, workers) -> None:
    """Every file of the report into the (staging) folder ``out``; ``report.md`` last."""
    fig_dir = out / FIGURES
    settings = result.spec.settings()
    if result.notes:  # notices about the datasets, found before training
        settings["data_notes"] = {name: list(notes) for name, notes in result.notes.items()}
    if result.protocols:  # grouped or time-ordered splits, in words
        settings["splits"] = dict(result.protocols)
    if result.pending:  # the main comparison, written first: what still runs
        settings["pending"] = list(result.pending)
    if result.budget:  # what a time budget reduced
        settings["budget"] = dict(result.budget)
    tables = result.tables
    atomic_write_text(out / "results.csv", result.results.to_csv(index=False))
    atomic_write_text(out / "predictions.csv", result.predictions.to_csv(index=False))
    for name, frame in tables.items():
        atomic_write_text(out / f"{name}.csv", frame.to_csv(index=False))
    atomic_write_text(out / "study.json", json.dumps(settings, indent=2, default=str) + "\n")
    stored = write_models(result, out, settings)

    metric = primary_metric(result.results) if (result.results["status"] == "ok").any() else None
    scored = metric is not None and without_baseline(ok_rows(result.results))["metric"].eq(metric).any()
    glance = glance_section(result.results, tables, metric if scored else None)
    with drawing_together(workers, Store(result.spec.cache_dir)):
        parts = [protocol_section(settings), data_checks_section(tables), *dataset_sections(result.results, metric,
                                                                                            fig_dir)]
        if scored:
            parts.append(statistics_section(result.results, result.predictions, fig_dir, metric))
        parts += [search_section(tables), score_curves_section(tables, fig_dir)]
        parts.append(verdicts_section(tables, fig_dir))
        parts.append(importance_section(tables, fig_dir))  # what each model learned
        if settings["diagnostics"] and "diagnostics" not in result.pending:
            parts += [section(tables, fig_dir) for section in DIAGNOSTIC_SECTIONS]
        parts += [per_class_section(tables, fig_dir), models_section(stored, out), failures_section(tables, fig_dir)]
    parts = [part for part in parts if part]
    headings = [line[3:] for part in [glance, *parts] for line in part.splitlines() if line.startswith("## ")]
    contents = "\n".join(f"- [{h}](#{anchor(h)})" for h in headings)
    header = ("# Generalization report\n\n"
              f"Datasets: {', '.join(escape(d) for d in settings['datasets'])}. Models: "
              f"{', '.join(escape(m) for m in settings['models'])}, and the chance baseline `{BASELINE}`. "
              "Tables and figures come from `results.csv` (one row per dataset x model x split x fold x metric) "
              "and the other CSV files beside this report; the settings are in `study.json`.\n")
    if result.pending:
        header += (f"\n**The main comparison, written first: {' and '.join(result.pending)} still running.** "
                   "This report is replaced when they finish; until then its verdicts rest on the scores "
                   "alone (no learning or validation curves yet).\n")
    report = "\n".join([header, glance, f"## Contents\n\n{contents}\n", *parts])
    _drop_unlinked_figures(out, report)
    atomic_write_text(out / "report.html", report_html(report, out))
    atomic_write_text(out / "report.md", report)
