"""One sweep over the public contract (API.md): jit, vmap and grad for every function.

In the style of dm-haiku's ``jax_transforms_test.py`` and its table ``descriptors.py``:
each :class:`Case` names a contract function, wraps it as a function of array
arguments only (structure such as ``num_classes``, ``epochs``, ``sizes`` or the
activation name is held static with :func:`functools.partial`), and builds example
arguments from a key. For every case the sweep checks that

1. ``jax.jit(f)`` equals eager ``f``;
2. ``jax.vmap(f)`` over a leading batch axis of one argument equals a Python loop;
3. where ``f`` is differentiable, ``jax.grad`` of a scalar reduction of its output is
   finite (and, unless saturated, not identically zero), or identically zero for the
   piecewise-constant ``step`` and the gates.
"""

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn

# The contract of /work/shared/API.md, hard-coded since CI may not have that file;
# test_contract_matches_api_md checks the two agree wherever the file exists.
CONTRACT = (
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "softmax",
    "one_hot",
    "binary_cross_entropy",
    "cross_entropy",
    "l1_penalty",
    "l2_penalty",
    "gate",
    "perceptron_fit",
    "init_mlp",
    "mlp_apply",
)
_ROOT = Path(__file__).resolve().parents[1]
API_MD_CANDIDATES = (
    _ROOT / "API.md",
    _ROOT / "docs" / "API.md",
    _ROOT.parent / "shared" / "API.md",
    Path("/work/shared/API.md"),  # where the team keeps it
)

BATCH = 3  # size of the vmapped batch
N, D, K = 6, 3, 4  # examples, features, classes of the example arguments


class Case(NamedTuple):
    """One row of the sweep.

    Attributes:
      name: the contract function this case exercises.
      fn: that function as a function of positional array arguments only.
      make_args: key -> the example arguments, a dict in ``fn``'s argument order;
        called with other keys to build the batches (see :func:`_examples`).
      vmap: the arguments :func:`test_vmap_matches_python_loop` batches, one at a time.
      grad: ``"nonzero"`` (finite and not identically zero), ``"finite"``, ``"zero"``
        (piecewise constant), or ``None`` (integer or key inputs: not differentiable).
      wrt: the argument :func:`test_grad_of_scalar_reduction` differentiates.
    """

    name: str
    fn: Callable[..., Any]
    make_args: Callable[[jax.Array], dict[str, Any]]
    vmap: tuple[str, ...]
    grad: str | None = "nonzero"
    wrt: str | None = None  # None: the first argument


def keyword_args(fn: Callable[..., Any], *names: str) -> Callable[..., Any]:
    """``fn`` taking its trailing keyword arguments ``names`` positionally.

    ``jax.vmap`` maps every keyword argument over axis 0, so the sweep passes array
    arguments positionally and chooses per argument what to batch.
    """

    def positional(*args):
        head, tail = args[: len(args) - len(names)], args[len(args) - len(names) :]
        return fn(*head, **dict(zip(names, tail, strict=True)))

    return positional


# --- example arguments -------------------------------------------------------------


def _scores(key):
    x = jax.random.normal(key, (N,))
    return {"x": x.at[0].set(0.0)}  # a score of exactly 0 (step(0) = 1)


def _logits(key):
    return {"logits": jax.random.normal(key, (N, K))}


def _large_logits(key):
    return {"logits": 1e4 * jax.random.normal(key, (N, K))}


def _class_ids(key):
    return {"labels": jax.random.randint(key, (N,), 0, K)}


def _binary(key, logits_shape=(N,), labels_dtype=jnp.float32):
    k1, k2 = jax.random.split(key)
    return {
        "logits": jax.random.normal(k1, logits_shape),
        "labels": jax.random.bernoulli(k2, 0.5, (N,)).astype(labels_dtype),
    }


def _multiclass(key, probabilities):
    k1, k2 = jax.random.split(key)
    if probabilities:
        labels = jax.nn.softmax(jax.random.normal(k2, (N, K)))
    else:
        labels = jax.random.randint(k2, (N,), 0, K)
    return {"logits": jax.random.normal(k1, (N, K)), "labels": labels}


def _mlp_params(key):
    """MLP params with non-zero biases, so that penalties must leave them out."""
    params = jaxnn.init_mlp(key, [D, 5, 2])
    return [dict(p, b=jnp.full_like(p["b"], 0.5)) for p in params]


def _bits(arity):
    def make(key):
        return {"x": jax.random.bernoulli(key, 0.5, (N, arity)).astype(jnp.float32)}

    return make


def _perceptron(key):
    k1, k2, k3 = jax.random.split(key, 3)
    x = jax.random.normal(k1, (N, 2))
    return {
        "x": x,
        "y": (x[:, 0] + x[:, 1] > 0).astype(jnp.int32),
        "learning_rate": jax.random.uniform(k2, (), minval=0.05, maxval=0.5),
        "key": k3,
    }


def _mlp(key, with_dropout=False):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    args = {"params": _mlp_params(k1), "x": jax.random.normal(k2, (N, D))}
    if with_dropout:
        args["dropout"] = jax.random.uniform(k3, (), minval=0.1, maxval=0.6)
        args["key"] = k4
    return args


# --- the table ---------------------------------------------------------------------

# Structure (num_classes, axis, epochs, sizes, activation) is held static by partial
static = functools.partial
CASES = {
    "step": Case("step", jaxnn.step, _scores, ("x",), grad="zero"),
    "sigmoid": Case("sigmoid", jaxnn.sigmoid, _scores, ("x",)),
    "tanh": Case("tanh", jaxnn.tanh, _scores, ("x",)),
    "relu": Case("relu", jaxnn.relu, _scores, ("x",)),
    "softmax": Case("softmax", jaxnn.softmax, _logits, ("logits",)),
    "softmax-axis0": Case("softmax", static(jaxnn.softmax, axis=0), _logits, ("logits",)),
    # saturated: the exact gradient, about e^-10000, underflows to 0
    "softmax-1e4": Case("softmax", jaxnn.softmax, _large_logits, ("logits",), grad="finite"),
    "one_hot": Case("one_hot", static(jaxnn.one_hot, num_classes=K), _class_ids, ("labels",), None),
    "bce": Case("binary_cross_entropy", jaxnn.binary_cross_entropy, _binary, ("logits", "labels")),
    "bce-n1-int-labels": Case(
        "binary_cross_entropy",
        jaxnn.binary_cross_entropy,
        functools.partial(_binary, logits_shape=(N, 1), labels_dtype=jnp.int32),
        ("logits",),
    ),
    "ce-ids": Case(
        "cross_entropy",
        jaxnn.cross_entropy,
        functools.partial(_multiclass, probabilities=False),
        ("logits", "labels"),
    ),
    "ce-probs": Case(
        "cross_entropy",
        jaxnn.cross_entropy,
        functools.partial(_multiclass, probabilities=True),
        ("logits", "labels"),
        wrt="labels",
    ),
    "l1_penalty": Case(
        "l1_penalty", jaxnn.l1_penalty, lambda k: {"params": _mlp_params(k)}, ("params",)
    ),
    "l2_penalty": Case(
        "l2_penalty", jaxnn.l2_penalty, lambda k: {"params": _mlp_params(k)}, ("params",)
    ),
    **{
        f"gate-{g}": Case("gate", jaxnn.gate(g), _bits(1 if g == "not" else 2), ("x",), "zero")
        for g in ("and", "or", "not", "nand", "xor")
    },
    "perceptron_fit": Case(
        "perceptron_fit",
        keyword_args(static(jaxnn.perceptron_fit, epochs=3), "learning_rate", "key"),
        _perceptron,
        ("learning_rate", "key"),  # a learning-rate sweep; random restarts
        wrt="learning_rate",
    ),
    "init_mlp": Case(
        "init_mlp", static(jaxnn.init_mlp, sizes=(D, 5, 2)), lambda k: {"key": k}, ("key",), None
    ),
    "mlp_apply-relu": Case("mlp_apply", jaxnn.mlp_apply, _mlp, ("params", "x")),
    "mlp_apply-sigmoid": Case(
        "mlp_apply", static(jaxnn.mlp_apply, activation="sigmoid"), _mlp, ("params",)
    ),
    "mlp_apply-tanh": Case(
        "mlp_apply", static(jaxnn.mlp_apply, activation="tanh"), _mlp, ("params",)
    ),
    "mlp_apply-dropout": Case(
        "mlp_apply",
        keyword_args(static(jaxnn.mlp_apply, activation="tanh"), "dropout", "key"),
        functools.partial(_mlp, with_dropout=True),
        ("dropout", "key"),  # a dropout-rate sweep; different masks
    ),
}
VMAPS = [(case_id, arg) for case_id, case in CASES.items() for arg in case.vmap]
GRADS = [case_id for case_id, case in CASES.items() if case.grad is not None]


# --- helpers -----------------------------------------------------------------------


def _assert_trees_close(actual, expected, rtol=1e-5, atol=1e-5):
    assert jax.tree.structure(actual) == jax.tree.structure(expected)
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        assert a.shape == e.shape and a.dtype == e.dtype
        if jnp.issubdtype(a.dtype, jnp.inexact):
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)
        elif jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            np.testing.assert_array_equal(jax.random.key_data(a), jax.random.key_data(e))
        else:
            np.testing.assert_array_equal(a, e)


def _stack(trees):
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def _reduce(out):
    """A scalar from every float leaf of ``out`` (sum of squares: not constant for softmax)."""
    leaves = [x for x in jax.tree.leaves(out) if jnp.issubdtype(x.dtype, jnp.inexact)]
    return sum((jnp.sum(jnp.square(x)) for x in leaves), start=jnp.float32(0))


@functools.cache
def _examples(make_args):
    """``(args, batch)``: example arguments and ``BATCH`` more, from ``jax.random.key(0)``
    (the key of conftest's fixture); each built by one jitted call rather than op by op,
    and cached, so that the three tests and the cases sharing ``make_args`` share them."""
    names = []

    def values(key):  # a tuple: jit would return a dict with its keys sorted
        args = make_args(key)
        names[:] = args
        return tuple(args.values())

    jitted = jax.jit(values)

    def make(key):
        vals = jitted(key)  # traces values() on the first call, which fills names
        return dict(zip(names, vals, strict=True))

    key = jax.random.key(0)
    return make(key), [make(jax.random.fold_in(key, b + 1)) for b in range(BATCH)]


def _call(case, args, **replace):
    return case.fn(*{**args, **replace}.values())


# --- the sweep ---------------------------------------------------------------------


@pytest.mark.parametrize("case_id", list(CASES))
def test_jit_matches_eager(case_id):
    case = CASES[case_id]
    args, _ = _examples(case.make_args)
    _assert_trees_close(jax.jit(case.fn)(*args.values()), case.fn(*args.values()))


@pytest.mark.parametrize(("case_id", "arg"), VMAPS, ids=[f"{c}-over-{a}" for c, a in VMAPS])
def test_vmap_matches_python_loop(case_id, arg):
    case = CASES[case_id]
    args, batch_args = _examples(case.make_args)
    batch = [item[arg] for item in batch_args]
    in_axes = tuple(0 if name == arg else None for name in args)
    # jit around vmap: one compilation instead of one per batched operation
    batched = jax.jit(jax.vmap(case.fn, in_axes=in_axes))
    actual = batched(*{**args, arg: _stack(batch)}.values())
    expected = _stack([_call(case, args, **{arg: item}) for item in batch])
    _assert_trees_close(actual, expected)


@pytest.mark.parametrize("case_id", GRADS)
def test_grad_of_scalar_reduction(case_id):
    case = CASES[case_id]
    args, _ = _examples(case.make_args)
    wrt = case.wrt or next(iter(args))
    # jit around grad: one compilation instead of one per operation and its transpose
    grads = jax.jit(jax.grad(lambda a: _reduce(_call(case, args, **{wrt: a}))))(args[wrt])
    assert jax.tree.structure(grads) == jax.tree.structure(args[wrt])
    leaves = [np.asarray(g) for g in jax.tree.leaves(grads)]
    assert all(np.isfinite(g).all() for g in leaves)
    if case.grad == "zero":
        assert all((g == 0).all() for g in leaves)
    elif case.grad == "nonzero":
        assert any((g != 0).any() for g in leaves), "gradient is identically zero"


# --- the contract itself -----------------------------------------------------------


def _names_in_api_md(text: str) -> set[str]:
    """Backticked ``name(`` patterns in the first cell of each row of API.md's tables."""
    cells = [line.split("|")[1] for line in text.splitlines() if line.lstrip().startswith("|")]
    return {m for cell in cells for m in re.findall(r"`([A-Za-z_]\w*)\(", cell)}


@pytest.mark.parametrize("name", CONTRACT)
def test_contract_name_is_importable_from_jaxnn(name):
    assert callable(getattr(jaxnn, name, None)), f"jaxnn.{name} is missing"
    assert name in jaxnn.__all__


def test_contract_matches_api_md():
    path = next((p for p in API_MD_CANDIDATES if p.is_file()), None)
    if path is None:
        pytest.skip("API.md is not in this checkout; the hard-coded CONTRACT stands")
    assert _names_in_api_md(path.read_text()) == set(CONTRACT)


def test_api_md_parser():
    text = (
        "| name | meaning |\n| --- | --- |\n"
        "| `sigmoid(x)`, `tanh(x)` | elementwise |\n"
        "| `gate(name)` | returns `f(x)`-style gates |\n"
        "Prose mentioning `not_a_row(x)` is ignored.\n"
    )
    assert _names_in_api_md(text) == {"sigmoid", "tanh", "gate"}


def test_sweep_covers_the_whole_contract():
    assert {case.name for case in CASES.values()} == set(CONTRACT)
