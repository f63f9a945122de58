"""Multilayer perceptrons: keyed initialisation and the forward pass (lessons 8, 11, 13).

Params are a plain list of layers ``[{"w": (m, n), "b": (n,)}, ...]``; the structure
(activation, sizes) stays out of the pytree, so ``jax.jit``, ``jax.grad`` and
``jax.vmap`` (say over a stack of restarts) apply directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import _validation as v
from jaxnn._typing import Array, ArrayLike, Layer, PRNGKey
from jaxnn._validation import check_key, check_numeric, check_scalar
from jaxnn.activations import get_activation
from jaxnn.dropout import dropout as _dropout

_INITIALIZERS = {
    # Glorot/Xavier: Var(w) = 2 / (fan_in + fan_out), keeps tanh/sigmoid units in
    # their sensitive range (Glorot & Bengio, 2010).
    "sigmoid": jax.nn.initializers.glorot_normal(),
    "tanh": jax.nn.initializers.glorot_normal(),
    # He/Kaiming: Var(w) = 2 / fan_in, compensates relu zeroing half its inputs
    # (He et al., 2015).
    "relu": jax.nn.initializers.he_normal(),
}


def init_mlp(key: PRNGKey, sizes: Sequence[int], *, activation: str = "relu") -> list[Layer]:
    """Initial params for an MLP with layer sizes ``[d, h1, ..., out]``.

    Layer i gets ``w ~ TruncatedNormal(0, sigma^2)`` of shape ``(sizes[i], sizes[i+1])``
    with ``sigma^2 = 2 / (fan_in + fan_out)`` (Glorot) for ``"sigmoid"``/``"tanh"`` and
    ``sigma^2 = 2 / fan_in`` (He) for ``"relu"``, and ``b = 0``. Each layer draws from
    its own key, ``jax.random.fold_in(key, i)``, so adding a layer does not change the
    earlier ones. Random restarts are ``jax.vmap(init_mlp, (0, None))`` over split keys.

    Args:
      key: a PRNG key.
      sizes: Python ints ``[d, h1, ..., out]``, at least two, each >= 1.
      activation: the hidden activation the network will use; picks the scale.

    Returns:
      A list of ``len(sizes) - 1`` dicts ``{"w": (m, n) float32, "b": (n,) float32}``.

    >>> params = init_mlp(jax.random.key(0), [2, 8, 1], activation="tanh")
    >>> [(p["w"].shape, p["b"].shape) for p in params]
    [((2, 8), (8,)), ((8, 1), (1,))]
    """
    check_key(key, "init_mlp: key")
    sizes = check_sizes(sizes)
    if activation not in _INITIALIZERS:
        get_activation(activation)  # raises naming the valid ones
    init = _INITIALIZERS[activation]
    return [
        {
            "w": init(jax.random.fold_in(key, i), (m, n), jnp.float32),
            "b": jnp.zeros((n,), jnp.float32),
        }
        for i, (m, n) in enumerate(itertools.pairwise(sizes))
    ]


def mlp_apply(
    params: Sequence[Layer],
    x: ArrayLike,
    *,
    activation: str = "relu",
    dropout: ArrayLike = 0.0,
    key: PRNGKey | None = None,
) -> Array:
    """Forward pass: logits of an MLP (no activation on the last layer).

    ``h_0 = x``, ``h_{l+1} = f(h_l W_l + b_l)`` for hidden layers, then
    ``logits = h_{L-1} W_{L-1} + b_{L-1}``. With a ``key``, inverted dropout at rate
    ``dropout`` follows every hidden activation (layer l uses ``fold_in(key, l)``);
    without a key the call is deterministic and no rescaling is needed.

    Args:
      params: layers as returned by :func:`init_mlp`.
      x: inputs of shape (n, d) (any leading shape ``(..., d)`` works).
      activation: ``"sigmoid"``, ``"tanh"`` or ``"relu"``.
      dropout: drop probability in [0, 1) for hidden units; used only with a key.
      key: PRNG key for dropout, or ``None`` for the deterministic network.

    Returns:
      Logits of shape (n, out).

    Raises:
      ValueError: for an unknown activation, a dropout rate outside [0, 1), or
        shapes that do not chain (naming both shapes).

    >>> params = init_mlp(jax.random.key(0), [2, 8, 3])
    >>> mlp_apply(params, jnp.ones((5, 2))).shape
    (5, 3)
    """
    f = get_activation(activation)
    check_scalar("mlp_apply: dropout", dropout, 0.0, 1.0, high_open=True)
    if key is not None:
        check_key(key, "mlp_apply: key")
    check_numeric("mlp_apply: x", x)
    _check_chain(params, x)
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.float32)
    lead = x.shape[:-1]
    # Feature-major inside: h is (units, examples) and each layer is w.T @ h. Same
    # numbers as the row-major h @ w, but XLA's CPU matmuls run faster this way: a
    # row-major variant trained W1 (2-32-32-1, 1024 points) 1.35x slower as one fit
    # and 1.5x slower as 16 vmapped restarts (for digits mini-batches, within noise).
    h = x.reshape(-1, x.shape[-1]).T
    last = len(params) - 1
    for i, layer in enumerate(params):
        h = layer["w"].T @ h + layer["b"][:, None]
        if i < last:
            h = f(h)
            if key is not None:  # the mask is drawn in (examples, units) layout
                h = _dropout(jax.random.fold_in(key, i), dropout, h.T).T
    return h.T.reshape((*lead, h.shape[0]))


def check_sizes(sizes: Sequence[int]) -> list[int]:
    """``sizes`` as a list of positive ints, at least two of them (else a clear error)."""
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"sizes must be a sequence of ints, got {sizes!r}.") from None
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least two layer sizes [d, ..., out], got {sizes!r}.")
    return [v.check_static_int(f"sizes[{i}]", s, 1) for i, s in enumerate(sizes)]


def _check_chain(params: Sequence[Layer], x: ArrayLike) -> None:
    if not isinstance(params, list | tuple) or not params:
        raise ValueError("mlp_apply: params must be a non-empty list of {'w', 'b'} layers.")
    x_shape = np.shape(x)
    if len(x_shape) < 1:
        raise ValueError("mlp_apply: x must have shape (n, d), got a scalar.")
    width, what = x_shape[-1], f"x of shape {x_shape}"
    for i, layer in enumerate(params):
        if not hasattr(layer, "keys") or not {"w", "b"} <= set(layer.keys()):
            got = sorted(layer.keys()) if hasattr(layer, "keys") else type(layer).__name__
            raise ValueError(
                f"mlp_apply: params[{i}] must be a layer {{'w': (m, n), 'b': (n,)}} with keys "
                f"'w' and 'b', got {got}."
            )
        w_shape, b_shape = np.shape(layer["w"]), np.shape(layer["b"])
        if len(w_shape) != 2 or w_shape[0] != width:
            raise ValueError(
                f"mlp_apply: layer {i} weight w has shape {w_shape} but its input, {what}, "
                f"has {width} features; expected w of shape ({width}, n)."
            )
        if b_shape != (w_shape[1],):
            raise ValueError(
                f"mlp_apply: layer {i} bias b has shape {b_shape}; expected ({w_shape[1]},) "
                f"to match w {w_shape}."
            )
        width, what = w_shape[1], f"layer {i}'s output ({w_shape[1]} units)"
