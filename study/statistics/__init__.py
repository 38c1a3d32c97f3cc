"""Statistics on the tidy tables: paired corrected tests (:mod:`~study.statistics.paired`),
hold-out intervals and nested estimates (:mod:`~study.statistics.holdout`), ranks over datasets
(:mod:`~study.statistics.ranks`) and fit verdicts (:mod:`~study.statistics.verdicts`).

Everything here reads the tables a study wrote and never fits a model, so a report can be
rebuilt without refitting.
"""
