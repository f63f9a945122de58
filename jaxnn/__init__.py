"""jaxnn: neural networks as an introductory course teaches them, in functional JAX.

Params are plain pytrees, models are pure ``init``/``apply`` functions, and every
numeric hyperparameter stays traceable so that restarts and sweeps are one
``jax.vmap``. The names below are the public API; see README.md for an overview.
"""

from jaxnn import data
from jaxnn.activations import (
    ACTIVATIONS,
    get_activation,
    one_hot,
    relu,
    relu_derivative,
    sigmoid,
    sigmoid_derivative,
    softmax,
    step,
    tanh,
    tanh_derivative,
)
from jaxnn.dropout import dropout
from jaxnn.losses import binary_cross_entropy, cross_entropy
from jaxnn.mlp import init_mlp, mlp_apply
from jaxnn.penalties import l1_penalty, l2_penalty, weight_leaves
from jaxnn.perceptron import (
    GATE_PARAMS,
    PerceptronHistory,
    gate,
    perceptron_fit,
    perceptron_predict,
    perceptron_score,
)

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "GATE_PARAMS",
    "PerceptronHistory",
    "binary_cross_entropy",
    "cross_entropy",
    "data",
    "dropout",
    "gate",
    "get_activation",
    "init_mlp",
    "l1_penalty",
    "l2_penalty",
    "mlp_apply",
    "one_hot",
    "perceptron_fit",
    "perceptron_predict",
    "perceptron_score",
    "relu",
    "relu_derivative",
    "sigmoid",
    "sigmoid_derivative",
    "softmax",
    "step",
    "tanh",
    "tanh_derivative",
    "weight_leaves",
]
