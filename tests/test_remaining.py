"""The time left of a running study (study.remaining): predicted costs corrected by measured seconds."""

from dataclasses import dataclass

import pytest

from study.remaining import RemainingTime


@dataclass(frozen=True, eq=False)
class Item:
    """What RemainingTime reads of a work item."""

    dataset: str
    model: str
    cost: float
    work: str = "unit"
    framework: str = ""


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _estimate(workers=1, expected=0.0):
    clock = Clock()
    return RemainingTime(workers, expected, clock=clock), clock


def test_no_estimate_until_an_item_was_computed():
    left, _ = _estimate()
    a, b = Item("d", "m", 10.0), Item("d", "m", 10.0)
    left.queue([a, b])
    assert left.seconds_left() is None
    left.start(a)
    left.finish(a, 3.0, computed=False)  # loaded from the store (or failed): says nothing
    assert left.seconds_left() is None
    left.start(b)
    left.finish(b, 5.0, computed=True)
    assert left.seconds_left() == 0.0


def test_each_item_at_the_scale_of_its_own_model_then_of_all():
    left, _ = _estimate(workers=2)
    fast, slow = Item("d", "fast", 10.0), Item("d", "slow", 10.0)
    later = [Item("d", "fast", 40.0), Item("d", "slow", 40.0), Item("e", "slow", 20.0), Item("e", "new", 20.0)]
    left.queue([fast, slow, *later])
    for item, seconds in ((fast, 10.0), (slow, 30.0)):  # 1 s and 3 s per cost unit
        left.start(item)
        left.finish(item, seconds, computed=True)
    # fast: 40 x 1; slow on d: 40 x 3; slow on e: the model's scale, 20 x 3; new: all items' (40 s / 20) = 20 x 2
    assert left.seconds_left() == pytest.approx((40 + 120 + 60 + 40) / 2)


def test_the_same_dataset_and_model_first():
    left, _ = _estimate()
    items = [Item("small", "m", 10.0), Item("big", "m", 10.0), Item("big", "m", 10.0), Item("small", "m", 10.0)]
    left.queue(items)
    for item, seconds in zip(items[:2], (10.0, 50.0)):
        left.start(item)
        left.finish(item, seconds, computed=True)
    assert left.seconds_left() == pytest.approx(50.0 + 10.0)  # big at 5 s per unit, small at 1


def test_other_work_at_its_units_scale_times_what_that_work_takes_elsewhere():
    left, _ = _estimate()
    done = [(Item("d", "a", 10.0), 20.0), (Item("d", "a", 10.0, "nested"), 10.0),  # a: nested at half the unit's
            (Item("d", "b", 10.0), 40.0), (Item("d", "b", 10.0, "nested"), 16.0),  # b: at 0.4 of the unit's
            (Item("d", "c", 10.0), 60.0)]                                             # c: 6 s per unit
    left.queue([item for item, _ in done])
    for item, seconds in done:
        left.start(item)
        left.finish(item, seconds, computed=True)
    assert left.seconds_left() == 0.0
    left.queue([Item("d", "c", 10.0, "nested"), Item("d", "a", 10.0, "nested"), Item("d", "c", 10.0, "curves")])
    # c nested: 6 x the median factor 0.5 (of 0.5, 0.4 and the prior 1); a nested: its own 1 s;
    # c curves: no factor known, the unit's 6
    assert left.seconds_left() == pytest.approx(10 * 6 * 0.5 + 10 * 1 + 10 * 6)


def test_one_outlier_among_few_factors_does_not_carry_the_others():
    # the default study: logistic regression's validation curve on digits took 29 times its
    # unit's rate, random_forest's 0.87 times; with the prior 1 the median is 1, not their mean 15
    left, _ = _estimate()
    done = [(Item("digits", "logistic_regression", 10.0), 1.0),
            (Item("digits", "logistic_regression", 10.0, "validation_curves"), 29.0),
            (Item("digits", "random_forest", 10.0), 10.0),
            (Item("digits", "random_forest", 10.0, "validation_curves"), 8.7),
            (Item("wide", "random_forest", 10.0), 20.0)]
    left.queue([item for item, _ in done])
    for item, seconds in done:
        left.start(item)
        left.finish(item, seconds, computed=True)
    assert left.item_seconds(Item("wide", "random_forest", 10.0, "validation_curves")) == pytest.approx(20.0)


def test_a_works_factor_is_learned_from_models_of_the_same_framework_only():
    # the 8,000-row CSV's case: keras_dense's nested CV took 1.7 times its unit's seconds per cost
    # unit, random_forest's 1.2: the Keras factor put random_forest's nested CV 40% too high
    left, _ = _estimate()
    done = [(Item("d", "keras_dense", 10.0, framework="keras"), 10.0),
            (Item("d", "keras_dense", 10.0, "nested", "keras"), 17.0),
            (Item("d", "random_forest", 10.0, framework="scikit-learn"), 10.0)]
    left.queue([item for item, _ in done])
    for item, seconds in done:
        left.start(item)
        left.finish(item, seconds, computed=True)
    forest_nested = Item("d", "random_forest", 10.0, "nested", "scikit-learn")
    left.queue([forest_nested])
    assert left.seconds_left() == pytest.approx(10.0)  # the forest's unit's 1 s, factor 1: none known
    assert left.item_seconds(Item("e", "keras_cnn", 10.0, "nested", "keras")) == pytest.approx(10 * 37 / 30)  # all items: 37 s / 30
    for model, nested in (("ridge", 2.4), ("logistic_regression", 2.6)):
        unit, inner = Item("d", model, 10.0, framework="scikit-learn"), Item("d", model, 10.0, "nested", "scikit-learn")
        left.queue([unit, inner])
        for item, seconds in ((unit, 2.0), (inner, nested)):
            left.start(item)
            left.finish(item, seconds, computed=True)
    # the median of ridge's 1.2, logistic regression's 1.3 and the prior 1; not keras_dense's 1.7
    assert left.item_seconds(forest_nested) == pytest.approx(10 * 1.2)
    assert left.item_seconds(Item("d", "keras_dense", 10.0, "nested", "keras")) == pytest.approx(17.0)


def test_running_items_count_what_they_have_left_and_the_longest_bounds_it():
    left, clock = _estimate(workers=4)
    done, long, short = Item("d", "m", 1.0), Item("d", "m", 100.0), Item("d", "m", 4.0)
    left.queue([done, long, short])
    left.start(done)
    left.finish(done, 1.0, computed=True)  # 1 s per unit
    left.start(long)
    left.start(short)
    clock.now = 10.0
    assert left.seconds_left() == pytest.approx(90.0)  # (90 + 0) / 4 < 90: the long item alone
    clock.now = 200.0
    assert left.seconds_left() == 0.0  # longer than predicted: nothing left, never less


def test_work_expected_but_not_queued_yet_counts_at_the_scale_of_all():
    left, _ = _estimate(workers=1, expected=100.0)
    unit = Item("d", "m", 20.0)
    left.queue([unit])
    left.start(unit)
    left.finish(unit, 40.0, computed=True)  # 2 s per unit; 80 units of diagnostics to come
    assert left.seconds_left() == pytest.approx(80 * 2)
    left.queue([Item("d", "m", 30.0)])  # some of them queued: counted once
    assert left.seconds_left() == pytest.approx(80 * 2)
    left.queue([Item("d", "m", 100.0)])  # more than forecast: what is queued counts
    assert left.seconds_left() == pytest.approx(130 * 2)


def test_the_time_after_the_last_item_is_added_once_known():
    left, _ = _estimate()
    unit, curves = Item("d", "m", 10.0), Item("d", "m", 10.0, "curves")
    left.queue([unit, curves])
    left.start(unit)
    left.finish(unit, 10.0, computed=True)
    assert left.seconds_left() == pytest.approx(10.0)
    left.afterwards = 4.0  # the whole report, as long as the first one took
    assert left.seconds_left() == pytest.approx(14.0)


def test_a_budgets_pilot_gives_the_time_left_from_the_start_until_the_unit_is_measured():
    """Under a time budget the pilot's rate of each unit (``unit_rates``) stands in for the
    unit's measured one: the time left is known before any item finished, and each work is
    scaled from it by the work's factor; a measured unit then replaces its pilot's rate."""
    clock = Clock()
    left = RemainingTime(1, 0.0, clock=clock, unit_rates={("d", "m"): 2.0, ("d", "k"): 0.5})
    unit, other = Item("d", "m", 10.0), Item("d", "k", 4.0)
    nested = Item("d", "m", 5.0, work="nested")
    stranger = Item("e", "new", 10.0)  # no pilot's rate: the pilot's median, (2 + 0.5) / 2
    left.queue([unit, nested, other, stranger])
    assert left.item_seconds(unit) == 20.0 and left.item_seconds(nested) == 10.0
    assert left.seconds_left() == pytest.approx(20 + 10 + 2 + 12.5)
    left.start(unit)
    clock.now = 30.0
    left.finish(unit, 30.0, computed=True)  # measured: 3 s per cost unit, not the pilot's 2
    assert left.item_seconds(nested) == 15.0 and left.item_seconds(other) == 2.0
    assert RemainingTime(1, unit_rates={}).seconds_left() is None


def test_under_a_budget_the_work_not_queued_yet_is_priced_at_the_units_rates_not_the_quick_ones_finished():
    """The diagnostics expected but not queued yet: without a budget at the rate of every finished
    item; under one at the units' rates weighted by their costs, measured where the unit finished,
    else the pilot's (a quick unit finishing first no longer prices the slow ones' work), times
    the measured works' factor over their unit (with a prior of 1)."""
    pilot = {("d", "quick"): 1.0, ("d", "slow"): 4.0}

    def left_after(unit_rates, diagnostic_seconds=None):
        left = RemainingTime(1, 100.0, clock=Clock(), unit_rates=unit_rates)
        quick, slow = Item("d", "quick", 10.0), Item("d", "slow", 30.0)
        left.queue([quick, slow])
        left.start(quick)
        left.finish(quick, 5.0, computed=True)  # measured 0.5 s per cost unit
        if diagnostic_seconds is not None:  # a diagnostic of the quick unit, of cost 10
            curves = Item("d", "quick", 10.0, work="learning_curves")
            left.queue([curves])
            left.start(curves)
            left.finish(curves, diagnostic_seconds, computed=True)
        return left.seconds_left()

    slow_unit = 30.0 * 4.0  # its pilot's rate: 4 s per cost unit
    assert left_after(None) == pytest.approx(30 * 0.5 + 60 * 0.5)  # no budget: as before
    weighted = (10 * 0.5 + 30 * 4.0) / 40  # the quick unit as measured, the slow one as the pilot said
    assert left_after(pilot) == pytest.approx(slow_unit + 60 * weighted)
    factor = (195.0 / 10 / 0.5 + 1.0) / 2  # the diagnostic took 39 times its unit's rate; the prior 1
    assert left_after(pilot, diagnostic_seconds=195.0) == pytest.approx(slow_unit + 50 * weighted * factor)
