"""Models as pairs of pure functions, hashable so that compiled fits are cached.

A model is anything with ``init(key) -> params`` and
``apply(params, x, *, key=None, dropout=0.0) -> logits``. :class:`MLP` is the
course's multilayer perceptron; :class:`Model` wraps any pair of functions.
Both compare and hash by value (or by function identity), so a second
:func:`jaxnn.fit` of the same model reuses the compiled program.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from jaxnn._typing import Array, ArrayLike, Params, PRNGKey
from jaxnn._validation import check_key
from jaxnn.activations import get_activation
from jaxnn.mlp import check_sizes, init_mlp, mlp_apply


@dataclasses.dataclass(frozen=True)
class MLP:
    """A multilayer perceptron of layer sizes ``(d, h1, ..., out)``.

    ``init`` is :func:`jaxnn.init_mlp` (Glorot or He scaled for ``activation``) and
    ``apply`` is :func:`jaxnn.mlp_apply`.

    >>> net = MLP((2, 16, 1), activation="tanh")
    >>> net.apply(net.init(jax.random.key(0)), jnp.zeros((3, 2))).shape
    (3, 1)
    """

    sizes: Sequence[int]
    activation: str = "relu"

    def __post_init__(self):
        object.__setattr__(self, "sizes", tuple(check_sizes(self.sizes)))
        get_activation(self.activation)

    def init(self, key: PRNGKey) -> list[dict[str, Array]]:
        """Fresh params for this network from ``key`` (one PRNG key, :func:`check_key`)."""
        return init_mlp(check_key(key), self.sizes, activation=self.activation)

    def apply(
        self, params: Params, x: ArrayLike, *, key: PRNGKey | None = None, dropout: ArrayLike = 0.0
    ) -> Array:
        """Logits (n, out); inverted dropout on hidden layers when ``key`` (one PRNG
        key, :func:`check_key`) is given."""
        key = None if key is None else check_key(key)
        return mlp_apply(params, x, activation=self.activation, dropout=dropout, key=key)


class Model(NamedTuple):
    """Any model given as two pure functions.

    ``apply`` must accept ``key`` and ``dropout`` keywords if the fit uses dropout;
    otherwise ``apply(params, x)`` suffices.
    """

    init: Callable[[PRNGKey], Any]
    apply: Callable[..., Array]


def as_model(model: Any) -> Any:
    """``model`` itself if it has ``init``/``apply``, or a ``(init, apply)`` pair as a
    :class:`Model`; anything else is a ``TypeError``."""
    if isinstance(model, tuple) and not isinstance(model, Model) and len(model) == 2:
        model = Model(*model)
    if not (callable(getattr(model, "init", None)) and callable(getattr(model, "apply", None))):
        raise TypeError(
            "model must be an MLP, a Model(init, apply), an (init_fn, apply_fn) pair, or any "
            f"object with init(key) and apply(params, x, *, key, dropout); got {model!r}."
        )
    return model
