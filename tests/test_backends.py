"""The common estimator interface: registry, tags, clone round-trips, determinism."""

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import RidgeClassifier, Ridge
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from backends import QUICK_TREES, get_model, list_models, make_estimator
from backends.preprocessing import ImageScaler
from study.experiments.learning_validation import SWEEPS
from study.spec import DEFAULT_MODELS, StudySpec


def test_list_models_names_and_order():
    assert list_models() == ["logistic_regression", "ridge", "random_forest", "hist_gradient_boosting", "keras_dense",
                             "keras_cnn", "dummy"]


def test_unknown_model_message():
    with pytest.raises(ValueError, match=r"Unknown model 'svm'\. Expected one of \['logistic_regression'"):
        make_estimator("svm")


def test_cnn_requires_image_shape():
    with pytest.raises(ValueError, match=r"Model 'keras_cnn' needs image_shape=\(height, width, channels\); got None"):
        make_estimator("keras_cnn")


def test_task_not_supported_message():
    with pytest.raises(ValueError, match=r"Model 'logistic_regression' does not support task 'regression'"):
        make_estimator("logistic_regression", "regression")


def test_ridge_is_a_classifier_for_classification():
    assert isinstance(make_estimator("ridge")[-1], RidgeClassifier)
    assert isinstance(make_estimator("ridge", "regression")[-1], Ridge)


HGB = "hist_gradient_boosting"


def test_hist_gradient_boosting_is_a_classifier_or_a_regressor_by_task():
    clf, reg = make_estimator(HGB), make_estimator(HGB, "regression")
    assert isinstance(clf[-1], HistGradientBoostingClassifier) and isinstance(reg[-1], HistGradientBoostingRegressor)
    assert is_classifier(clf) and is_classifier(clone(clf)) and not is_regressor(clf)
    assert is_regressor(reg) and is_regressor(clone(reg)) and not is_classifier(reg)


def test_hist_gradient_boosting_settings_and_grid_routing():
    spec = get_model(HGB)
    assert (spec.framework, spec.tasks, spec.class_weight, spec.needs_image) == (
        "scikit-learn", ("classification", "regression"), True, False)
    assert spec.grid == {"model__learning_rate": [0.1, 0.3]} and spec.quick_grid == {"model__learning_rate": [0.3]}
    est = make_estimator(HGB, random_state=7)
    model = est[-1]
    assert (model.max_iter, model.learning_rate, model.max_leaf_nodes, model.max_bins, model.early_stopping,
            model.random_state) == (25, 0.3, 8, 63, False, 7)
    assert est[0].scale is False  # trees are invariant to scaling
    for task in ("classification", "regression"):
        params = make_estimator(HGB, task).get_params()
        for key in [*spec.grid, *spec.quick_grid, *(sweep.param for sweep in SWEEPS[HGB])]:
            assert key in params, (task, key)
    assert "model__class_weight" in est.get_params()
    tuned = clone(est).set_params(model__learning_rate=0.1, model__min_samples_leaf=5, model__class_weight="balanced")
    assert (tuned[-1].learning_rate, tuned[-1].min_samples_leaf, tuned[-1].class_weight, tuned[-1].random_state) == (
        0.1, 5, "balanced", 7)
    assert est[-1].learning_rate == 0.3  # the clone was tuned, not the original


def test_hist_gradient_boosting_fits_and_predicts_on_tiny_data():
    X, y = load_wine(return_X_y=True)
    est = make_estimator(HGB, random_state=0).fit(X[::2], y[::2])
    assert est[-1].n_iter_ == 25  # every round: no early stopping
    proba = est.predict_proba(X[1::2])
    assert proba.shape == (89, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert est.score(X[1::2], y[1::2]) > 0.85
    reg = make_estimator(HGB, "regression", random_state=0).fit(X[::2], y[::2].astype(float))
    assert reg.predict(X[1::2]).shape == (89,) and reg.score(X[1::2], y[1::2]) > 0.5


def test_hist_gradient_boosting_same_seed_same_model_with_one_or_two_threads():
    from threadpoolctl import threadpool_limits

    X, y = _digits(600)
    probas = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="openmp"):
            probas.append(make_estimator(HGB, random_state=3).fit(X[:400], y[:400]).predict_proba(X[400:]))
    np.testing.assert_array_equal(probas[0], probas[1])


def test_hist_gradient_boosting_is_a_default_model_in_table_order():
    assert HGB in list_models() and HGB in DEFAULT_MODELS
    assert DEFAULT_MODELS == tuple(name for name in list_models() if name in DEFAULT_MODELS)
    assert DEFAULT_MODELS == ("logistic_regression", "ridge", "random_forest", HGB, "keras_dense", "keras_cnn")


def test_hist_gradient_boosting_in_a_tiny_study(shared_workers):
    from study.orchestrator import run_study

    result = run_study(StudySpec(datasets=("wine",), models=(HGB,), quick=True, cache_dir=None), progress=False,
                       workers=shared_workers)
    rows = result.results[result.results["model"] == HGB]
    assert set(rows["status"]) == {"ok"} and set(rows["framework"]) == {"scikit-learn"}
    cv = rows[(rows["split"] == "validation") & (rows["metric"] == "accuracy")]
    assert len(cv) >= 2 and cv["score"].mean() > 0.85


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_quick_forest_grows_fewer_trees_and_a_full_one_a_hundred(task):
    forest = get_model("random_forest")
    quick, full = (forest.estimator(task, random_state=0, quick=quick)[-1] for quick in (True, False))
    assert (quick.n_estimators, full.n_estimators) == (QUICK_TREES, 100) and QUICK_TREES < 100
    X, y = load_wine(return_X_y=True)
    assert len(quick.fit(X, y).estimators_) == QUICK_TREES


def test_params_route_to_model_step():
    est = make_estimator("logistic_regression", C=0.5, model__max_iter=77)
    assert est.get_params()["model__C"] == 0.5 and est.get_params()["model__max_iter"] == 77


def test_every_grid_key_is_a_parameter():
    for name in list_models():
        spec = get_model(name)
        est = make_estimator(name, image_shape=(8, 8, 1)) if "classification" in spec.tasks else None
        params = est.get_params()
        for key in [*spec.grid, *spec.quick_grid, *spec.quick_params]:
            assert key in params, (name, key)


@pytest.mark.parametrize("name", ["keras_dense", "keras_cnn"])
def test_keras_estimators_are_classifiers(name):
    est = make_estimator(name, image_shape=(8, 8, 1))
    assert is_classifier(est[-1]) and is_classifier(est) and is_classifier(clone(est))
    assert not is_regressor(est[-1])


def test_keras_regressor_tags():
    est = make_estimator("keras_dense", "regression")
    assert is_regressor(est[-1]) and not is_classifier(est[-1])


@pytest.mark.parametrize("name", list_models())
def test_clone_round_trips_every_parameter(name):
    est = make_estimator(name, image_shape=(8, 8, 1), random_state=3)
    params, cloned = est.get_params(deep=True), clone(est).get_params(deep=True)
    for key, value in params.items():
        if not hasattr(value, "get_params") and key != "steps":
            assert cloned[key] == value, key
    assert clone(make_estimator("keras_dense", epochs=7)).get_params()["model__epochs"] == 7


def _digits(n=400):
    X, y = load_digits(return_X_y=True)
    return X[:n], y[:n]


def test_keras_same_seed_same_predictions():
    X, y = _digits()
    fit = lambda: make_estimator("keras_dense", random_state=5, epochs=3).fit(X[:300], y[:300])  # noqa: E731
    np.testing.assert_array_equal(fit().predict_proba(X[300:]), fit().predict_proba(X[300:]))


def test_cnn_reshapes_flat_images_and_checks_shape():
    X, y = _digits()
    est = make_estimator("keras_cnn", image_shape=(8, 8, 1), random_state=0, epochs=2).fit(X, y)
    assert est.predict(X[:5]).shape == (5,)
    bad = make_estimator("keras_cnn", image_shape=(4, 4, 1), random_state=0, epochs=1)
    with pytest.raises(ValueError, match=r"image_shape=\(4, 4, 1\) does not match X with 64 features"):
        bad.fit(X, y)


def test_early_stopping_needs_inner_validation():
    X, y = _digits(100)
    est = make_estimator("keras_dense", early_stopping=True, epochs=2)
    with pytest.raises(ValueError, match=r"early_stopping=True needs an inner validation split, but validation_fraction=0\.0"):
        est.fit(X, y)


def test_inner_validation_is_stratified_and_from_training_data():
    # wine is sorted by class: Keras' own validation_split would validate on class 2 only
    X, y = load_wine(return_X_y=True)
    est = make_estimator("keras_dense", random_state=0, epochs=3, validation_fraction=0.2,
                         early_stopping=True, patience=1).fit(X, y)
    model = est[-1]
    assert {"val_loss", "val_accuracy"} <= set(model.history_)
    assert 1 <= model.stopped_epoch_ <= 3 and 1 <= model.best_epoch_ <= model.stopped_epoch_


@parametrize_with_checks([ImageScaler()])
def test_image_scaler_passes_estimator_checks(estimator, check):
    check(estimator)


API_CHECKS = [
    estimator_checks.check_no_attributes_set_in_init,
    estimator_checks.check_get_params_invariance,
    estimator_checks.check_set_params,
    estimator_checks.check_estimator_cloneable,
    estimator_checks.check_estimator_repr,
]


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_estimator_api_checks(name, check):
    estimator = make_estimator(name, image_shape=(8, 8, 1))
    check(name, estimator)
    check(name, estimator[-1])


def _nan_network(meta):
    import keras

    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(meta["n_classes_"]),
        keras.layers.Lambda(lambda t: t * float("nan")),
        keras.layers.Softmax(),
    ])


def test_nan_loss_is_a_failed_fit():
    from backends.keras_wrappers import KerasBuildFnClassifier

    X, y = _digits(200)
    with pytest.raises(ValueError, match=r"Training diverged: the loss became nan at epoch 1\. Lower learning_rate"):
        KerasBuildFnClassifier(model=_nan_network, epochs=2, random_state=0).fit(X, y)


def _fit_dense(X, y, **params):
    return make_estimator("keras_dense", random_state=5, epochs=3, dropout=0.3, **params).fit(X, y)


def test_pooled_models_give_the_fit_a_fresh_model_gives():
    """A fit's result does not depend on what ran before it in the process (the pool resets
    weights, dropout seed states and optimizer state)."""
    import gc

    from backends import keras_pool

    X, y = _digits()
    est = _fit_dense(X[:300], y[:300])
    first, model = est.predict_proba(X[300:]), est[-1].model_
    del est
    gc.collect()
    assert keras_pool.pool_size() >= 1  # returned when its estimator went away
    other = _fit_dense(X[100:400], y[100:400])  # same architecture, other data: the same model object
    assert other[-1].model_ is model
    del other
    gc.collect()
    again = _fit_dense(X[:300], y[:300])
    assert again[-1].model_ is model
    np.testing.assert_array_equal(again.predict_proba(X[300:]), first)
    del again
    keras_pool._IDLE.clear()  # a model built for this fit alone
    fresh = _fit_dense(X[:300], y[:300])
    assert fresh[-1].model_ is not model
    np.testing.assert_allclose(fresh.predict_proba(X[300:]), first, rtol=1e-5, atol=1e-6)


def test_a_fitted_estimator_keeps_its_model_while_others_fit():
    X, y = _digits()
    kept = _fit_dense(X[:300], y[:300])
    before = kept.predict_proba(X[300:])
    later = _fit_dense(X[100:400], y[100:400])
    assert later[-1].model_ is not kept[-1].model_
    np.testing.assert_array_equal(kept.predict_proba(X[300:]), before)


def test_a_fit_is_the_same_training_in_one_pass_or_epoch_by_epoch():
    """Without callbacks the epochs run as one pass over the repeated data (several steps per
    call of the train function); with a callback, epoch by epoch: the same batches, the same model."""
    import keras

    X, y = _digits()
    one_pass = make_estimator("keras_dense", random_state=1, epochs=5).fit(X[:300], y[:300])
    by_epoch = make_estimator("keras_dense", random_state=1, epochs=5,
                              model__callbacks=[keras.callbacks.Callback()]).fit(X[:300], y[:300])
    assert len(one_pass[-1].history_["loss"]) == 1 and len(by_epoch[-1].history_["loss"]) == 5
    np.testing.assert_allclose(one_pass.predict_proba(X[300:]), by_epoch.predict_proba(X[300:]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rate, l2", [(0.0, 0.0), (0.0, 0.01), (0.3, 0.01)])
def test_tunable_layers_train_as_keras_dropout_and_l2(rate, l2):
    """The built-in networks' dropout rate and L2 factor are variables (one traced model serves
    every value); from the same weights they train exactly as keras' Dropout and L2 regularizer."""
    import keras

    from backends.keras_layers import PenalizedDense, TunableDropout

    X, y = _digits()
    X, y = X[:200].astype("float32") / 16, y[:200]

    def network(tunable):
        keras.utils.set_random_seed(1)
        if tunable:
            hidden = [PenalizedDense(16, activation="relu", l2=l2), TunableDropout(rate, seed=3)]
        else:
            hidden = [keras.layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(l2)),
                      keras.layers.Dropout(rate, seed=3)]
        model = keras.Sequential([keras.Input((64,)), *hidden, keras.layers.Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    reference, tunable = network(False), network(True)
    for mine, theirs in zip(tunable.trainable_weights, reference.trainable_weights):
        mine.assign(theirs)
    losses = []
    for model in (reference, tunable):
        keras.utils.set_random_seed(5)
        losses.append(model.fit(X, y, epochs=4, batch_size=32, shuffle=False, verbose=0).history["loss"])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)


def test_fits_differing_in_l2_or_dropout_share_one_model():
    import gc

    from backends import keras_pool

    X, y = _digits()
    keras_pool._IDLE.clear()
    first = make_estimator("keras_dense", random_state=5, epochs=3, dropout=0.0, l2=0.0).fit(X[:300], y[:300])
    model = first[-1].model_
    del first
    gc.collect()
    second = make_estimator("keras_dense", random_state=5, epochs=3, dropout=0.5, l2=0.1).fit(X[:300], y[:300])
    assert second[-1].model_ is model
    rates = {v.path.split("/")[-1]: float(v.numpy()) for v in model.non_trainable_variables if v.shape == ()}
    assert rates.get("rate") == 0.5 and rates.get("l2") == pytest.approx(0.1)


@pytest.mark.parametrize("name, params", [
    ("keras_dense", dict(dropout=0.3, early_stopping=True, validation_fraction=0.2, patience=1)),
    ("keras_cnn", dict(augment=True, image_shape=(8, 8, 1))),
])
def test_built_in_networks_train_as_under_scikeras_seeding_and_keep_tensorflow_kernels(name, params):
    """The built-in networks are seeded without clearing TensorFlow's kernel cache
    (``backends.keras_seeding``): the same training as under scikeras' seeding, which clears it,
    whether the fit runs first or after another; and no fit sets TensorFlow's global seed the
    clearing way."""
    from unittest import mock

    from tensorflow.python.eager import context

    X, y = _digits()

    def fit(rows, scikeras_seeding=False):
        estimator = make_estimator(name, random_state=3, epochs=3, **params)
        if scikeras_seeding:
            estimator[-1]._random_kernels = True  # as a user's network
        return estimator.fit(X[rows], y[rows]).predict_proba(X[300:])

    reference = fit(slice(0, 300), scikeras_seeding=True)
    with mock.patch.object(context.Context, "_set_global_seed", autospec=True,
                           side_effect=context.Context._set_global_seed) as clearing:
        fit(slice(100, 400))  # another fit first, on the same pooled model
        kept = fit(slice(0, 300))
    np.testing.assert_array_equal(kept, reference)
    assert clearing.call_count == 0


def _user_networks():
    """Build functions a user writes: Keras' own layers (stateless random ops), and a layer of
    their own drawing with ``tf.random.uniform`` (a stateful random kernel)."""
    import keras
    import tensorflow as tf

    class Jitter(keras.layers.Layer):
        def call(self, x, training=None):
            return x + tf.random.uniform(tf.shape(x), maxval=0.1) if training else x

    def plain():
        return keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.3),
                                 keras.layers.Dense(10, activation="softmax")])

    def own_layer():
        return keras.Sequential([Jitter(), keras.layers.Dense(16, activation="relu"),
                                 keras.layers.Dense(10, activation="softmax")])

    return plain, own_layer


def test_stateless_network_knows_keras_own_parts_only():
    import keras

    from backends.keras_seeding import stateless_network

    def compiled(model, loss="sparse_categorical_crossentropy"):
        model.compile(optimizer="adam", loss=loss)
        return model

    plain, own_layer = _user_networks()
    inner = keras.Sequential([keras.layers.Dense(4), keras.layers.GaussianNoise(0.1)])
    assert stateless_network(compiled(plain()))
    assert stateless_network(compiled(keras.Sequential([inner, keras.layers.Dense(10)]),
                                      keras.losses.SparseCategoricalCrossentropy()))
    assert not stateless_network(compiled(own_layer()))  # a layer of the user's
    assert not stateless_network(compiled(keras.Sequential([keras.Sequential([own_layer()])])))  # nested
    assert not stateless_network(compiled(keras.Sequential([keras.layers.Lambda(lambda x: x), keras.layers.Dense(10)])))
    assert not stateless_network(compiled(plain(), loss=lambda y, p: keras.losses.mse(y, p)))  # the user's loss

    class Subclassed(keras.Sequential):
        pass

    assert not stateless_network(compiled(Subclassed([keras.layers.Dense(10)])))


@pytest.mark.parametrize("network", ["plain", "own_layer"])
def test_a_users_network_keeps_tensorflow_kernels_only_when_its_random_ops_are_stateless(network):
    """A user's build function of Keras' own layers is fitted without clearing TensorFlow's kernel
    cache (after its first build), one with a layer of its own drawing from a stateful kernel with
    it, as scikeras does; either trains the same whether the fit runs first or after another."""
    from unittest import mock

    from tensorflow.python.eager import context

    from backends.custom import keras_model

    X, y = _digits()
    build = dict(zip(["plain", "own_layer"], _user_networks()))[network]
    spec = keras_model(f"user_{network}", build, epochs=3)

    def fit(rows):
        return spec.estimator("classification", random_state=3).fit(X[rows], y[rows]).predict_proba(X[300:])

    reference = fit(slice(0, 300))
    with mock.patch.object(context.Context, "_set_global_seed", autospec=True,
                           side_effect=context.Context._set_global_seed) as clearing:
        fit(slice(100, 400))  # another fit first, on the same pooled model
        again = fit(slice(0, 300))
    np.testing.assert_array_equal(again, reference)
    assert (clearing.call_count == 0) == (network == "plain")


def test_seeding_sets_tensorflow_global_seed_as_set_seed_does_and_restores_it():
    import tensorflow as tf
    from tensorflow.python.eager import context
    from tensorflow.python.framework import config

    from backends.keras_seeding import seeded

    def order():
        return [int(v) for v in tf.data.Dataset.range(20).shuffle(20, seed=1)]

    tf.random.set_seed(7)
    expected = order()
    tf.random.set_seed(None)
    before = context.global_seed(), config.is_op_determinism_enabled()
    with seeded(7, reset_kernels=False):
        assert context.global_seed() == 7
        assert order() == expected
        assert config.is_op_determinism_enabled()
    assert (context.global_seed(), config.is_op_determinism_enabled()) == before


def test_the_validation_pass_gives_what_keras_own_evaluation_gives():
    """``backends.keras_validation.ValidationPass`` (one iterator for the whole fit) vs Keras'
    ``validation_data`` pass (taken when a user's callback is given): the same per-epoch logs,
    the same epoch restored by early stopping, the same predictions."""
    import keras

    X, y = _digits()
    params = dict(random_state=2, epochs=12, dropout=0.3, early_stopping=True, patience=2, validation_fraction=0.25)
    ours = make_estimator("keras_dense", **params).fit(X[:300], y[:300])
    keras_own = make_estimator("keras_dense", callbacks=[keras.callbacks.Callback()], **params).fit(X[:300], y[:300])
    assert set(ours[-1].history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert ours[-1].history_ == keras_own[-1].history_
    assert (ours[-1].stopped_epoch_, ours[-1].best_epoch_) == (keras_own[-1].stopped_epoch_, keras_own[-1].best_epoch_)
    np.testing.assert_array_equal(ours.predict_proba(X[300:]), keras_own.predict_proba(X[300:]))
