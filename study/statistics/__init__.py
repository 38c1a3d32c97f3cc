"""Statistics on the tidy tables: paired corrected tests (:mod:`~study.statistics.paired`),
hold-out intervals and nested estimates (:mod:`~study.statistics.holdout`), ranks over datasets
(:mod:`~study.statistics.ranks`), fit verdicts (:mod:`~study.statistics.verdicts`) and
permutation importance (:mod:`~study.statistics.importance`).

Nothing here fits a model. Everything reads the tables a study wrote (so a report can be rebuilt
without refitting), except permutation importance, which predicts with the unit's refit
estimator on the hold-out rows inside the unit's work item.
"""
