"""scikit-learn's estimator API for the scikeras wrappers (``backends.keras_wrappers``): their
tags and their repr.

- scikit-learn >= 1.6 reads estimator tags from ``__sklearn_tags__``; scikeras declares them
  with the old ``_more_tags`` and puts ``ClassifierMixin`` after ``BaseEstimator``, so
  ``is_classifier(KerasClassifier())`` is False and an integer ``cv`` silently gives plain
  KFold. The mixins here (:class:`ClassifierTagsMixin`, :class:`RegressorTagsMixin`) declare the
  tags explicitly.
- scikeras' ``__repr__`` prints all 23 parameters in its own format; in a Pipeline, scikit-learn's
  repr, meant to show the parameters that differ from the ``__init__`` defaults, also listed the
  11 scikeras ones our classes take through ``**kwargs`` (``build_fn=None, ...``) around the tuned
  ``dropout`` and ``l2`` (and past 700 characters it cuts a repr's middle): :class:`EstimatorApiMixin`.
"""

from __future__ import annotations

import inspect

from backends.quiet import start_tensorflow

start_tensorflow()  # scikeras imports TensorFlow: quietly

from scikeras.wrappers import BaseWrapper  # noqa: E402
from sklearn.base import BaseEstimator  # noqa: E402
from sklearn.utils import ClassifierTags, RegressorTags  # noqa: E402

__all__ = ["EstimatorApiMixin", "ClassifierTagsMixin", "RegressorTagsMixin"]


def _declared_signature(cls) -> inspect.Signature:
    """``cls.__init__``'s signature with the parameters of its scikeras base class that it passes
    on through ``**kwargs`` declared as keyword-only, with scikeras' defaults (PEP 362's
    ``__signature__``): scikit-learn's repr then shows only the parameters that differ from them."""
    own = inspect.signature(cls.__init__).parameters
    base = next(c for c in cls.__mro__ if c.__module__.startswith("scikeras.") and "__init__" in vars(c))
    passed = [p.replace(kind=p.KEYWORD_ONLY) for name, p in inspect.signature(base.__init__).parameters.items()
              if name not in own and p.default is not p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    rest = [p for p in own.values() if p.kind is not p.VAR_KEYWORD]
    return inspect.Signature([*rest, *passed, *(p for p in own.values() if p.kind is p.VAR_KEYWORD)])


class EstimatorApiMixin:
    """scikit-learn's repr for a scikeras wrapper: only the parameters that differ from their
    defaults, scikeras' own (``optimizer``, ``callbacks``, ...) included, each subclass's
    ``__init__`` declaring them (:func:`_declared_signature`)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls) and issubclass(cls, BaseWrapper):
            cls.__init__.__signature__ = _declared_signature(cls)

    def __repr__(self, N_CHAR_MAX=700):
        return BaseEstimator.__repr__(self, N_CHAR_MAX=N_CHAR_MAX)


class ClassifierTagsMixin(EstimatorApiMixin):
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.regressor_tags = None
        return tags


class RegressorTagsMixin(EstimatorApiMixin):
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        tags.classifier_tags = None
        return tags
