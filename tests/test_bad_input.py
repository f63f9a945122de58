"""Bad input to every public function: a ValueError or TypeError from jaxnn, naming it.

A table of :class:`Case` rows in the style of ``test_api_sweep.py``: each row is one
public function with one kind of bad input (:data:`KINDS`: wrong shape, wrong dtype,
out-of-range value, NaN/inf, a typo in a name, a wrong container), the call that
passes it, and the argument the message must name. For every row the test checks

1. the call raises ``ValueError`` or ``TypeError``;
2. the error is raised by jaxnn itself (the traceback's last frame is in the jaxnn
   package), not deep inside jax, numpy, optax or orbax;
3. the message names the argument (``Case.match``, by default the argument's name).

Rows marked ``traced`` are also called under ``jax.jit`` with their array arguments
traced: shape and dtype checks must fire while jit traces, with the same message.

:func:`test_every_public_function_has_a_row` holds the table to the public API (the
names of ``jaxnn.__all__``, ``jaxnn.data.__all__`` and README.md's API table): a new
public function fails it until it joins the table, or :data:`NO_CHECKABLE_INPUT`
with the reason it takes nothing to check. Bad inputs to ``fit``, ``restarts``,
``sweep`` and ``member_bytes`` are caught before anything compiles, so the whole
table runs in seconds.
"""

import re
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
import pytest

import jaxnn
from jaxnn import checkpoint, data, schedules
from jaxnn import study as study_module

KINDS = ("shape", "dtype", "range", "nonfinite", "name", "container")
_ROOT = Path(__file__).resolve().parents[1]
_PACKAGE = Path(jaxnn.__file__).resolve().parent


class Case(NamedTuple):
    """One row: ``fn(*args, **kwargs)`` must raise, naming ``arg``.

    Attributes:
      name: the public function (or class) the row exercises.
      kind: one of :data:`KINDS`.
      arg: the argument holding the bad input.
      fn: the callable to call (``name`` itself, or a lambda around it, say for a
        method or a function that ``name`` returns).
      args, kwargs: the call's arguments.
      match: a regex the message must contain; default ``arg``.
      traced: also call ``jax.jit(fn)`` on ``args`` (kwargs held static).
    """

    name: str
    kind: str
    arg: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}  # noqa: RUF012 (never mutated)
    match: str | None = None
    traced: bool = False


# --- example arguments: small, NumPy where possible (no device work to build them) --

KEY = jax.random.key(0)
N, D, K = 4, 2, 3
X = np.linspace(-1, 1, N * D, dtype=np.float32).reshape(N, D)
Y = np.array([0, 1, 0, 1], np.int32)
Y_IDS = np.array([0, 1, 2, 1], np.int32)
LOGITS = np.linspace(-1, 1, N, dtype=np.float32)
LOGITS_K = np.linspace(-1, 1, N * K, dtype=np.float32).reshape(N, K)
STRINGS = np.array(["a", "b", "c", "d"])
NAN_X = np.where(np.eye(N, D, dtype=bool), np.nan, X).astype(np.float32)
PARAMS = [
    {"w": np.full((D, 3), 0.5, np.float32), "b": np.zeros(3, np.float32)},
    {"w": np.full((3, 1), 0.5, np.float32), "b": np.zeros(1, np.float32)},
]
PERCEPTRON = {"w": np.ones(D, np.float32), "b": np.float32(0)}
BITS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
NET = jaxnn.MLP((D, 1))
TRAIN = (X, Y)
CONFIG = jaxnn.FitConfig(epochs=1)
ES_STATE = jaxnn.early_stopping_init({"w": np.zeros(2, np.float32)})
ES_PARAMS = {"w": np.ones(2, np.float32)}
TMP_DIR, TMP_FILE = "<tmp dir>", "<tmp file>"  # replaced by paths under tmp_path


class _State(NamedTuple):
    """The one field :func:`jaxnn.checkpoint.save_state` reads."""

    epoch: Any


SCALER = data.Standardizer(mean=np.zeros(D, np.float32), scale=np.ones(D, np.float32))
_GENERATORS = {
    "make_blobs": data.make_blobs,
    "make_xor": data.make_xor,
    "make_moons": data.make_moons,
    "make_circles": data.make_circles,
    "make_spirals": data.make_spirals,
}
_SCHEDULES = {
    "exponential_decay": schedules.exponential_decay,
    "step_decay": schedules.step_decay,
    "inverse_time_decay": schedules.inverse_time_decay,
}
_ELEMENTWISE = (
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "sigmoid_derivative",
    "tanh_derivative",
    "relu_derivative",
)


def _binary_evaluate(logits, labels):
    return jaxnn.evaluate("binary", logits, labels)


_PREDICTORS = {"predict": jaxnn.predict, "predict_proba": jaxnn.predict_proba}
_PREDICT_NET = jaxnn.MLP((D, 3, 1))  # the model of PARAMS
_BAD_OUTPUT = jaxnn.Model(lambda key: {}, lambda params, x: x[None])  # logits (1, n, d)


def _fit_call(fn, config_changes=None, **changes):
    """``fn(key, model, train, val, config)`` with some arguments changed; the config
    with ``config_changes`` is built in the call (FitConfig checks its fields)."""

    def call():
        args = {"key": KEY, "model": NET, "train": TRAIN, "val": None, "config": CONFIG}
        if config_changes is not None:
            args["config"] = CONFIG.replace(**config_changes)
        args.update(changes)
        extra = {"n": 2} if fn is jaxnn.restarts else {}
        if fn is jaxnn.sweep:
            extra = {"grid": {"learning_rate": [0.1, 0.2]}}
            args["base"] = args.pop("config")
        return fn(**args, **extra)

    return call


def _study_rows(name, fn):
    """Bad data, model, key and config for ``fit``, ``restarts`` and ``sweep``."""
    return [
        Case(name, "container", "key", _fit_call(fn, key=0)),
        Case(name, "container", "model", _fit_call(fn, model=jaxnn.Model(None, None))),
        Case(name, "container", "train", _fit_call(fn, train=X)),
        Case(name, "container", "config", _fit_call(fn, config={"epochs": 1}), match="config"),
        Case(name, "shape", "train", _fit_call(fn, train=(X, Y[:3]))),
        Case(name, "shape", "val", _fit_call(fn, val=(X[:, :1], Y))),
        Case(name, "shape", "model", _fit_call(fn, model=jaxnn.MLP((D + 1, 1))), match="shape"),
        Case(name, "dtype", "train", _fit_call(fn, train=(STRINGS.reshape(2, 2), Y[:2]))),
        Case(name, "range", "train", _fit_call(fn, train=(X, Y + 1))),
        Case(name, "nonfinite", "train", _fit_call(fn, train=(NAN_X, Y))),
        Case(
            name,
            "range",
            "learning_rate",
            _fit_call(fn, {"learning_rate": -1.0}),
        ),
        Case(
            name,
            "name",
            "loss",
            _fit_call(fn, {"loss": "binery"}),
            match="binery",
        ),
    ]


def _linen_dense():
    """A one-layer Flax linen module (flax is imported only when a row needs it)."""
    import flax.linen as nn

    return nn.Dense(1)


# --- the table ---------------------------------------------------------------------

CASES: list[Case] = [
    # activations (lessons 1, 4, 13)
    *[
        row
        for name in _ELEMENTWISE
        for row in (
            Case(name, "dtype", "x", getattr(jaxnn, name), (STRINGS,)),
            Case(name, "container", "x", getattr(jaxnn, name), (None,)),
        )
    ],
    Case("softmax", "shape", "logits", jaxnn.softmax, (np.float32(1.0),), traced=True),
    Case("softmax", "range", "axis", jaxnn.softmax, (LOGITS_K,), {"axis": 2}),
    Case("softmax", "dtype", "logits", jaxnn.softmax, (STRINGS,)),
    Case(
        "one_hot",
        "dtype",
        "labels",
        jaxnn.one_hot,
        (np.float32([0, 1]),),
        {"num_classes": K},
        traced=True,
    ),
    Case("one_hot", "range", "labels", jaxnn.one_hot, (np.int32([0, K]), K)),
    Case("one_hot", "range", "num_classes", jaxnn.one_hot, (Y, 0)),
    Case("one_hot", "dtype", "num_classes", jaxnn.one_hot, (Y, 2.0)),
    Case("get_activation", "name", "activation", jaxnn.get_activation, ("tahn",), match="tahn"),
    Case("get_activation", "container", "activation", jaxnn.get_activation, (["tanh"],)),
    # losses (lessons 5, 6)
    Case(
        "binary_cross_entropy",
        "shape",
        "logits",
        jaxnn.binary_cross_entropy,
        (LOGITS_K, Y),
        traced=True,
    ),
    Case("binary_cross_entropy", "range", "labels", jaxnn.binary_cross_entropy, (LOGITS, Y + 1)),
    Case(
        "binary_cross_entropy",
        "nonfinite",
        "labels",
        jaxnn.binary_cross_entropy,
        (LOGITS, np.float32([0, np.nan, 1, 0])),
    ),
    Case("binary_cross_entropy", "dtype", "labels", jaxnn.binary_cross_entropy, (LOGITS, STRINGS)),
    Case("cross_entropy", "shape", "logits", jaxnn.cross_entropy, (LOGITS, Y), traced=True),
    Case("cross_entropy", "shape", "labels", jaxnn.cross_entropy, (LOGITS_K, Y[:3]), traced=True),
    Case("cross_entropy", "range", "labels", jaxnn.cross_entropy, (LOGITS_K, Y_IDS + 1)),
    Case(
        "cross_entropy",
        "dtype",
        "labels",
        jaxnn.cross_entropy,
        (LOGITS_K, Y_IDS.astype(np.float32)),
        traced=True,
    ),
    Case(
        "cross_entropy",
        "nonfinite",
        "labels",
        jaxnn.cross_entropy,
        (LOGITS_K, np.full((N, K), np.nan, np.float32)),
    ),
    # the objective's metrics
    Case("evaluate", "name", "kind", jaxnn.evaluate, ("binery", LOGITS, Y), match="binery"),
    Case("evaluate", "shape", "labels", _binary_evaluate, (LOGITS, Y[:3]), traced=True),
    Case("evaluate", "shape", "logits", _binary_evaluate, (LOGITS_K, Y), traced=True),
    Case("evaluate", "range", "labels", jaxnn.evaluate, ("binary", LOGITS, Y + 1)),
    # (a list of numbers is array-like and gives the right answer; None is no array)
    Case("evaluate", "container", "labels", jaxnn.evaluate, ("binary", LOGITS, None)),
    Case("predictions", "name", "kind", jaxnn.predictions, ("binery", LOGITS), match="binery"),
    Case("predictions", "shape", "logits", jaxnn.predictions, ("binary", LOGITS_K)),
    Case("predictions", "container", "logits", jaxnn.predictions, ("binary", None)),
    # penalties (lesson 10)
    *[
        row
        for name in ("l1_penalty", "l2_penalty", "weight_leaves")
        for row in (
            Case(name, "name", "params", getattr(jaxnn, name), ({"W": X, "b": Y},), match="'w'"),
            Case(name, "container", "params", getattr(jaxnn, name), (X,)),
            Case(name, "dtype", "params", getattr(jaxnn, name), ({"w": STRINGS},)),
        )
    ],
    # the L1 proximal step
    Case("soft_threshold", "range", "threshold", jaxnn.soft_threshold, (X, -1.0)),
    Case("soft_threshold", "nonfinite", "threshold", jaxnn.soft_threshold, (X, np.nan)),
    Case(
        "soft_threshold", "shape", "threshold", jaxnn.soft_threshold, (X, np.ones(3)), traced=True
    ),
    Case("soft_threshold", "dtype", "w", jaxnn.soft_threshold, (STRINGS, 1.0)),
    Case("l1_proximal", "range", "l1", jaxnn.l1_proximal, (-1.0, 0.1)),
    Case("l1_proximal", "nonfinite", "l1", jaxnn.l1_proximal, (np.inf, 0.1)),
    Case("l1_proximal", "shape", "l1", jaxnn.l1_proximal, (np.ones(2), 0.1)),
    Case("l1_proximal", "range", "learning_rate", jaxnn.l1_proximal, (0.1, -0.1)),
    Case("l1_proximal", "range", "momentum", jaxnn.l1_proximal, (0.1, 0.1), {"momentum": 1.0}),
    Case("l1_proximal", "dtype", "l1", jaxnn.l1_proximal, ("0.1", 0.1)),
    Case(
        "l1_proximal",
        "container",
        "state",
        lambda: jaxnn.l1_proximal(0.1, 0.1).update(PARAMS, None, PARAMS),
    ),
    # perceptrons and gates (lessons 1-3, 7)
    Case("gate", "name", "name", jaxnn.gate, ("xro",), match="xro"),
    Case("gate", "container", "name", jaxnn.gate, (("and",),), match="gate"),
    Case("gate", "shape", "x", jaxnn.gate("and"), (BITS[:, :1],), traced=True),
    Case("gate", "range", "x", jaxnn.gate("and"), (BITS * 2,), match="0/1"),
    Case("gate", "nonfinite", "x", jaxnn.gate("xor"), (BITS * np.nan,), match="0/1"),
    Case("gate", "dtype", "x", jaxnn.gate("or"), (STRINGS.reshape(2, 2),)),
    *[
        row
        for name in ("perceptron_score", "perceptron_predict")
        for row in (
            Case(name, "shape", "x", getattr(jaxnn, name), (PERCEPTRON, X[:, :1]), traced=True),
            Case(name, "container", "params", getattr(jaxnn, name), ({"W": X[0]}, X)),
            Case(name, "dtype", "x", getattr(jaxnn, name), (PERCEPTRON, STRINGS.reshape(2, 2))),
        )
    ],
    *[
        Case("perceptron_fit", kind, arg, jaxnn.perceptron_fit, (x, y), kwargs)
        for kind, arg, x, y, kwargs in (
            ("shape", "x", X[0], Y, {}),
            ("shape", "y", X, Y[:3], {}),
            ("range", "y", X, Y + 1, {}),
            ("nonfinite", "x", NAN_X, Y, {}),
            ("dtype", "x", STRINGS.reshape(2, 2), Y[:2], {}),
            ("range", "learning_rate", X, Y, {"learning_rate": 0.0}),
            ("nonfinite", "learning_rate", X, Y, {"learning_rate": np.nan}),
            ("range", "epochs", X, Y, {"epochs": 0}),
            ("dtype", "epochs", X, Y, {"epochs": 2.0}),
            ("container", "key", X, Y, {"key": 0}),
            ("container", "init", X, Y, {"init": {"w": np.zeros(D), "bias": 0.0}}),
            ("shape", "init", X, Y, {"init": {"w": np.zeros(D + 1), "b": 0.0}}),
        )
        for kwargs in [{"learning_rate": 0.1, "epochs": 1, "key": KEY, **kwargs}]
    ],
    # the MLP and models (lessons 8, 11)
    Case("init_mlp", "container", "key", jaxnn.init_mlp, (0, (D, 1))),
    Case("init_mlp", "container", "sizes", jaxnn.init_mlp, (KEY, 3)),
    Case("init_mlp", "shape", "sizes", jaxnn.init_mlp, (KEY, (D,))),
    Case("init_mlp", "dtype", "sizes", jaxnn.init_mlp, (KEY, (D, 1.0))),
    Case("init_mlp", "range", "sizes", jaxnn.init_mlp, (KEY, (D, 0))),
    Case("init_mlp", "name", "activation", jaxnn.init_mlp, (KEY, (D, 1)), {"activation": "tahn"}),
    Case("mlp_apply", "shape", "x", jaxnn.mlp_apply, (PARAMS, X[:, :1]), traced=True),
    Case("mlp_apply", "shape", "w", jaxnn.mlp_apply, (PARAMS[1:], X), traced=True),
    Case("mlp_apply", "container", "params", jaxnn.mlp_apply, (PARAMS[0], X)),
    Case("mlp_apply", "name", "params", jaxnn.mlp_apply, ([{"W": X, "b": Y}], X), match="'w'"),
    Case("mlp_apply", "dtype", "x", jaxnn.mlp_apply, (PARAMS, STRINGS.reshape(2, 2))),
    Case("mlp_apply", "name", "activation", jaxnn.mlp_apply, (PARAMS, X), {"activation": "tahn"}),
    Case(
        "mlp_apply",
        "range",
        "dropout",
        jaxnn.mlp_apply,
        (PARAMS, X),
        {"dropout": 1.0, "key": KEY},
    ),
    Case(
        "mlp_apply",
        "shape",
        "dropout",
        lambda params, x, rate: jaxnn.mlp_apply(params, x, dropout=rate, key=KEY),
        (PARAMS, X, np.full(2, 0.5)),
        traced=True,
    ),
    Case("mlp_apply", "container", "key", jaxnn.mlp_apply, (PARAMS, X), {"key": 0, "dropout": 0.5}),
    Case("MLP", "container", "sizes", jaxnn.MLP, (3,)),
    Case("MLP", "range", "sizes", jaxnn.MLP, ((D, 0),)),
    Case("MLP", "dtype", "sizes", jaxnn.MLP, ((D, "1"),)),
    Case("MLP", "name", "activation", jaxnn.MLP, ((D, 1), "tahn"), match="tahn"),
    Case("Model", "container", "model", _fit_call(jaxnn.fit, model=jaxnn.Model(X, "apply"))),
    # dropout (lesson 11)
    Case("dropout", "range", "rate", jaxnn.dropout, (KEY, 1.0, X)),
    Case("dropout", "range", "rate", jaxnn.dropout, (KEY, -0.1, X)),
    Case("dropout", "nonfinite", "rate", jaxnn.dropout, (KEY, np.nan, X)),
    Case("dropout", "shape", "rate", jaxnn.dropout, (KEY, np.full(2, 0.5), X), traced=True),
    Case("dropout", "dtype", "rate", jaxnn.dropout, (KEY, "0.5", X)),
    Case("dropout", "container", "key", jaxnn.dropout, (0, 0.5, X)),
    Case("dropout", "shape", "key", jaxnn.dropout, (jax.random.split(KEY), 0.5, X), traced=True),
    Case("dropout", "dtype", "x", jaxnn.dropout, (KEY, 0.5, STRINGS)),
    # optimisers and schedules (lessons 6, 15, 16)
    *[
        row
        for name, make in (
            ("gradient_descent", jaxnn.gradient_descent),
            ("heavy_ball", lambda lr: jaxnn.heavy_ball(lr, 0.9)),
        )
        for row in (
            Case(name, "range", "learning_rate", make, (-0.1,)),
            Case(name, "nonfinite", "learning_rate", make, (np.nan,)),
            Case(name, "shape", "learning_rate", make, (np.full(2, 0.1),)),
            Case(name, "dtype", "learning_rate", make, ("0.1",)),
        )
    ],
    Case("heavy_ball", "range", "beta", jaxnn.heavy_ball, (0.1, 1.0)),
    Case("heavy_ball", "nonfinite", "beta", jaxnn.heavy_ball, (0.1, np.nan)),
    Case("heavy_ball", "shape", "beta", jaxnn.heavy_ball, (0.1, np.full(2, 0.5))),
    *[
        row
        for name, fn in _SCHEDULES.items()
        for row in (
            Case(name, "range", "init_value", fn, (-0.1, 0.5, 1)),
            Case(name, "nonfinite", "init_value", fn, (np.inf, 0.5, 1)),
            Case(name, "range", "decay_rate", fn, (0.1, -0.5, 1)),
            Case(name, "nonfinite", "decay_rate", fn, (0.1, np.nan, 1)),
            Case(name, "shape", "decay_rate", fn, (0.1, np.full(2, 0.5), 1)),
            Case(name, "range", "transition_steps", fn, (0.1, 0.5, 0)),
            Case(name, "dtype", "transition_steps", fn, (0.1, 0.5, 1.5)),
            Case(name, "dtype", "decay_rate", fn, (0.1, "0.5", 1)),
        )
    ],
    # early stopping (lesson 9)
    *[
        Case("early_stopping_update", kind, arg, jaxnn.early_stopping_update, args, kwargs)
        for kind, arg, args, kwargs in (
            ("range", "patience", (ES_STATE, 1.0, ES_PARAMS, 0), {"patience": 0}),
            ("dtype", "patience", (ES_STATE, 1.0, ES_PARAMS, 0), {"patience": 1.5}),
            ("range", "min_delta", (ES_STATE, 1.0, ES_PARAMS, 0), {"min_delta": -1.0}),
            ("nonfinite", "min_delta", (ES_STATE, 1.0, ES_PARAMS, 0), {"min_delta": np.nan}),
            ("shape", "loss", (ES_STATE, np.ones(2), ES_PARAMS, 0), {}),
            ("shape", "epoch", (ES_STATE, 1.0, ES_PARAMS, np.arange(2)), {}),
            ("container", "state", ((np.inf, -1, ES_PARAMS, 0), 1.0, ES_PARAMS, 0), {}),
            ("container", "params", (ES_STATE, 1.0, [np.ones(2)], 0), {}),
            ("shape", "params", (ES_STATE, 1.0, {"w": np.ones(3)}, 0), {}),
            ("dtype", "loss", (ES_STATE, "1.0", ES_PARAMS, 0), {}),
        )
        for kwargs in [{"patience": 2, **kwargs}]
    ],
    # fitting, studies and their configs (lessons 6, 9, 12, 14)
    *_study_rows("fit", jaxnn.fit),
    Case(
        "fit",
        "shape",
        "learning_rate",
        _fit_call(jaxnn.fit, {"learning_rate": np.full(2, 0.1)}),
    ),
    Case("fit", "dtype", "checkpoint_dir", lambda: jaxnn.fit(KEY, NET, TRAIN, checkpoint_dir=3)),
    *_study_rows("restarts", jaxnn.restarts),
    Case("restarts", "range", "n", lambda: jaxnn.restarts(KEY, NET, TRAIN, config=CONFIG, n=0)),
    Case("restarts", "dtype", "n", lambda: jaxnn.restarts(KEY, NET, TRAIN, config=CONFIG, n=2.0)),
    Case(
        "restarts",
        "range",
        "chunk_size",
        lambda: jaxnn.restarts(KEY, NET, TRAIN, config=CONFIG, n=2, chunk_size=0),
    ),
    Case(
        "restarts",
        "nonfinite",
        "tol",
        lambda: jaxnn.restarts(KEY, NET, TRAIN, config=CONFIG, n=2, tol=np.nan),
    ),
    *_study_rows("sweep", jaxnn.sweep),
    *[
        Case(
            "sweep",
            kind,
            arg,
            lambda kw=kw: jaxnn.sweep(KEY, NET, TRAIN, None, CONFIG, **kw),
            match=m,
        )
        for kind, arg, kw, m in (
            ("name", "grid", {"grid": {"learning_rte": [0.1]}}, "learning_rte"),
            ("name", "grid", {"grid": {"epochs": [1, 2]}}, "epochs"),
            ("container", "grid", {"grid": {"learning_rate": 0.1}}, "learning_rate"),
            ("container", "grid", {"grid": [("learning_rate", [0.1])]}, "grid"),
            ("shape", "zipped", {"zipped": {"l1": [0.0, 0.1], "l2": [0.0]}}, "zipped"),
            ("range", "grid", {"grid": {"learning_rate": [0.1, -0.1]}}, "learning_rate"),
            ("nonfinite", "grid", {"grid": {"momentum": [np.nan]}}, "momentum"),
            ("range", "n_restarts", {"grid": {"l2": [0.0]}, "n_restarts": 0}, "n_restarts"),
        )
    ],
    *[
        Case(
            "FitConfig", kind, field, lambda f=field, val=val: jaxnn.FitConfig(**{f: val}), match=m
        )
        for kind, field, val, m in (
            ("range", "learning_rate", -0.1, "learning_rate"),
            ("nonfinite", "learning_rate", np.inf, "learning_rate"),
            ("range", "momentum", 1.0, "momentum"),
            ("range", "dropout", 1.0, "dropout"),
            ("nonfinite", "l2", np.nan, "l2"),
            ("dtype", "l1", "0.1", "l1"),
            ("dtype", "epochs", 1.5, "epochs"),
            ("range", "epochs", 0, "epochs"),
            ("range", "batch_size", 0, "batch_size"),
            ("name", "loss", "binery", "binery"),
            ("name", "decay", "expnential", "expnential"),
            ("name", "l1_mode", "proximl", "proximl"),
            ("name", "train_metrics", "end-of-epoch", "end-of-epoch"),
        )
    ],
    Case("expected_best_of_k", "shape", "losses", jaxnn.expected_best_of_k, (np.zeros(0),)),
    Case(
        "expected_best_of_k",
        "nonfinite",
        "losses",
        jaxnn.expected_best_of_k,
        (np.float32([1, np.nan]),),
    ),
    Case("expected_best_of_k", "dtype", "losses", jaxnn.expected_best_of_k, (STRINGS,)),
    Case(
        "member_bytes",
        "nonfinite",
        "train",
        lambda: study_module.member_bytes(NET, (NAN_X, Y), CONFIG),
    ),
    Case("member_bytes", "container", "model", lambda: study_module.member_bytes(None, TRAIN)),
    Case("member_bytes", "container", "config", lambda: study_module.member_bytes(NET, TRAIN, {})),
    # checkpoints (TMP_FILE: a file where a directory belongs)
    Case("save_state", "container", "state", checkpoint.save_state, (TMP_DIR, {"epoch": 1})),
    Case("save_state", "container", "directory", checkpoint.save_state, (TMP_FILE, _State(1))),
    Case(
        "restore_latest", "container", "directory", checkpoint.restore_latest, (TMP_FILE, _State(1))
    ),
    Case("restore_latest", "dtype", "directory", checkpoint.restore_latest, (3, _State(1))),
    Case(
        "fit",
        "container",
        "checkpoint_dir",
        lambda path: jaxnn.fit(KEY, NET, TRAIN, config=CONFIG, checkpoint_dir=path),
        (TMP_FILE,),
    ),
    # predictions of a model
    *[
        row
        for name, predict in _PREDICTORS.items()
        for fn in [lambda params, x, f=predict: f(_PREDICT_NET, params, x)]
        for row in (
            Case(name, "shape", "x", fn, (PARAMS, X[0]), traced=True),
            Case(name, "shape", "x", fn, (PARAMS, X[:, :1]), traced=True),
            Case(name, "shape", "params", fn, (PARAMS[1:], X), traced=True),
            Case(name, "nonfinite", "x", fn, (PARAMS, NAN_X)),
            Case(name, "dtype", "x", fn, (PARAMS, STRINGS.reshape(2, 2))),
            Case(name, "container", "model", predict, ("mlp", PARAMS, X)),
            Case(name, "shape", "logits", predict, (_BAD_OUTPUT, {}, X)),
        )
    ],
    # Flax and Equinox adapters (checked before flax or equinox is used)
    Case("from_nnx", "dtype", "model", jaxnn.adapters.from_nnx, (3,)),
    Case("from_equinox", "dtype", "model", jaxnn.adapters.from_equinox, ("mlp",)),
    Case("from_linen", "dtype", "module", jaxnn.adapters.from_linen, ("mlp", X)),
    Case(
        "from_linen",
        "shape",
        "example_x",
        lambda x: jaxnn.adapters.from_linen(_linen_dense(), x),
        (np.zeros(3, np.float32),),
    ),
    # several processes (values checked before JAX's distributed runtime starts)
    Case("initialize", "range", "num_processes", jaxnn.distributed.initialize, (None, 0)),
    Case("initialize", "range", "process_id", jaxnn.distributed.initialize, (None, 2, 2)),
    Case(
        "initialize",
        "range",
        "heartbeat_timeout",
        jaxnn.distributed.initialize,
        kwargs={"heartbeat_timeout": 0},
    ),
    Case("launch_local", "range", "num_processes", jaxnn.distributed.launch_local, (["true"], 0)),
    # saving and loading (TMP_DIR: a fresh path; TMP_FILE: a file that is no save)
    Case("save", "dtype", "path", jaxnn.save, (3, PARAMS)),
    Case("save", "container", "path", jaxnn.save, (TMP_FILE, PARAMS), {"overwrite": True}),
    Case(
        "save",
        "container",
        "path",
        lambda path: [jaxnn.save(path, PARAMS) for _ in range(2)],
        (TMP_DIR,),
        match="path=.*overwrite=True",
    ),
    Case("save", "dtype", "tree", jaxnn.save, (TMP_DIR, {"names": STRINGS})),
    Case("save", "dtype", "overwrite", jaxnn.save, (TMP_DIR, PARAMS), {"overwrite": "yes"}),
    Case("load", "dtype", "path", jaxnn.load, (3,)),
    Case("load", "container", "path", jaxnn.load, (TMP_FILE,)),
    Case(
        "load",
        "shape",
        "like",
        lambda path: jaxnn.load(jaxnn.save(path, PARAMS), like=PARAMS[:1]),
        (TMP_DIR,),
    ),
    # data
    *[
        row
        for name, make in _GENERATORS.items()
        for row in (
            Case(name, "range", "n", make, (KEY, 1)),
            Case(name, "dtype", "n", make, (KEY, 8.0)),
            Case(name, "container", "key", make, (0, 8)),
            Case(name, "range", "noise", make, (KEY, 8), {"noise": -0.1}),
            Case(name, "nonfinite", "noise", make, (KEY, 8), {"noise": np.nan}),
            Case(name, "shape", "noise", make, (KEY, 8), {"noise": np.full(2, 0.1)}),
            Case(name, "dtype", "noise", make, (KEY, 8), {"noise": "0.1"}),
            Case(name, "name", "noise", make, (KEY, 8), {"nosie": 0.1}, match="nosie"),
        )
    ],
    Case("make_blobs", "range", "margin", data.make_blobs, (KEY, 8), {"margin": 0.0}),
    Case("make_circles", "range", "factor", data.make_circles, (KEY, 8), {"factor": 1.5}),
    Case("make_circles", "dtype", "factor", data.make_circles, (KEY, 8), {"factor": "0.5"}),
    Case("make_spirals", "range", "turns", data.make_spirals, (KEY, 8), {"turns": 0.0}),
    Case("make_spirals", "nonfinite", "turns", data.make_spirals, (KEY, 8), {"turns": np.inf}),
    *[
        row
        for name, fn in (("Standardizer", data.Standardizer.fit), ("standardize", data.standardize))
        for row in (
            Case(name, "shape", "x", fn, (X[0],)),
            Case(name, "shape", "x", fn, (X[:0],)),
            Case(name, "nonfinite", "x", fn, (NAN_X,)),
            Case(name, "dtype", "x", fn, (STRINGS.reshape(2, 2),)),
        )
    ],
    Case("Standardizer", "shape", "x", SCALER.transform, (X[:, :1],), traced=True),
    Case("Standardizer", "shape", "z", SCALER.inverse, (X[:, :1],), traced=True),
    Case("Standardizer", "dtype", "x", SCALER.transform, (STRINGS.reshape(2, 2),)),
    *[
        Case("train_val_test_split", kind, arg, data.train_val_test_split, args, kwargs)
        for kind, arg, args, kwargs in (
            ("shape", "y", (KEY, X, Y[:3]), {}),
            ("shape", "x", (KEY, np.float32(1), Y), {}),
            ("range", "val", (KEY, X, Y), {"val": 1.0}),
            ("range", "test", (KEY, X, Y), {"test": -0.1}),
            ("nonfinite", "val", (KEY, X, Y), {"val": np.nan}),
            ("range", "val", (KEY, X, Y), {"val": 0.5, "test": 0.5}),
            ("dtype", "val", (KEY, X, Y), {"val": "0.2"}),
            ("container", "key", (0, X, Y), {}),
        )
    ],
]


NO_CHECKABLE_INPUT = {
    "EarlyStoppingState": "a NamedTuple that early_stopping_init builds; its rows are "
    "early_stopping_update's 'state' ones",
    "early_stopping_init": "any pytree is valid params",
    "FitResult": "a result container jaxnn builds, not an entry point",
    "FitState": "a result container jaxnn builds, not an entry point",
    "History": "a result container jaxnn builds, not an entry point",
    "PerceptronHistory": "a result container jaxnn builds, not an entry point",
    "StudyResult": "a result container jaxnn builds, not an entry point",
    "StudySummary": "a result container jaxnn builds, not an entry point",
    "DataSplits": "a result container jaxnn builds, not an entry point",
    "load_course_points": "takes no arguments",
    "load_breast_cancer": "takes no arguments",
    "load_digits": "takes no arguments",
}


# --- the public API ----------------------------------------------------------------


def _readme_api_names() -> dict[str, Any]:
    """``name -> object`` for each backticked name in the second column of README.md's
    API table, looked up in the modules of its first column."""
    names = {}
    for line in (_ROOT / "README.md").read_text().splitlines():
        cells = line.split("|")
        if len(cells) < 4 or "`jaxnn." not in cells[1]:
            continue
        modules = [
            __import__(m, fromlist=["_"]) for m in re.findall(r"`(jaxnn(?:\.\w+)*)`", cells[1])
        ]
        for name in re.findall(r"`([A-Za-z_]\w*)[`(]", cells[2]):
            found = [getattr(m, name) for m in modules if hasattr(m, name)]
            assert found, f"README's API table names {name}, missing from {cells[1].strip()}"
            names[name] = found[0]
    return names


def public_callables() -> set[str]:
    """Every public callable: in ``jaxnn.__all__`` (modules aside), ``jaxnn.data.__all__``
    or README.md's API table."""
    exported = {n: getattr(jaxnn, n) for n in jaxnn.__all__}
    exported |= {n: getattr(data, n) for n in data.__all__}
    exported |= _readme_api_names()
    return {n for n, obj in exported.items() if callable(obj)}


# --- the test ----------------------------------------------------------------------


def _ids(cases: list[Case]) -> list[str]:
    base = [f"{c.name}-{c.kind}-{c.arg}" for c in cases]
    count, seen = Counter(base), Counter()
    out = []
    for b in base:
        seen[b] += 1
        out.append(f"{b}-{seen[b]}" if count[b] > 1 else b)
    return out


CASE_IDS = _ids(CASES)
TRACED = [(i, c) for i, c in zip(CASE_IDS, CASES, strict=True) if c.traced]


def _assert_jaxnn_error(excinfo: pytest.ExceptionInfo, case: Case) -> None:
    message = str(excinfo.value)
    where = traceback.extract_tb(excinfo.value.__traceback__)[-1]
    raised_in = Path(where.filename).resolve()
    assert _PACKAGE in raised_in.parents, (
        f"{type(excinfo.value).__name__} raised in {raised_in}:{where.lineno}, not by jaxnn: "
        f"{message}"
    )
    pattern = case.match if case.match is not None else re.escape(case.arg)
    assert re.search(pattern, message), f"message does not name {pattern!r}: {message}"


def _call(case: Case, tmp_path: Path) -> Any:
    (tmp_path / "a_file").write_text("")
    paths = {TMP_DIR: str(tmp_path / "a_dir"), TMP_FILE: str(tmp_path / "a_file")}
    args = [paths.get(a, a) if isinstance(a, str) else a for a in case.args]
    return case.fn(*args, **case.kwargs)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_input_raises_naming_the_argument(case, tmp_path):
    with pytest.raises((ValueError, TypeError)) as excinfo:
        _call(case, tmp_path)
    _assert_jaxnn_error(excinfo, case)


@pytest.mark.parametrize("case", [c for _, c in TRACED], ids=[i for i, _ in TRACED])
def test_bad_shape_raises_while_jit_traces(case):
    jitted = jax.jit(lambda *args: case.fn(*args, **case.kwargs))
    with pytest.raises((ValueError, TypeError)) as excinfo:
        jitted(*case.args)
    _assert_jaxnn_error(excinfo, case)


def test_every_public_function_has_a_row():
    rows = {case.name for case in CASES}
    missing = public_callables() - rows - set(NO_CHECKABLE_INPUT)
    assert not missing, f"public functions without a bad-input row: {sorted(missing)}"
    stale = (rows | set(NO_CHECKABLE_INPUT)) - public_callables()
    assert not stale, f"rows for names that are not public: {sorted(stale)}"
    assert not rows & set(NO_CHECKABLE_INPUT)


def test_rows_are_well_formed():
    assert {case.kind for case in CASES} <= set(KINDS)
    assert set(KINDS) == {case.kind for case in CASES}  # every kind is exercised
    assert len(set(CASE_IDS)) == len(CASES)


def test_public_callables_include_readme_and_exports():
    names = public_callables()
    assert {"fit", "dropout", "make_blobs", "exponential_decay", "save_state"} <= names
    assert "ACTIVATIONS" not in names and "data" not in names  # a dict; a module
