"""jaxnn: neural networks as an introductory course teaches them, in functional JAX.

Params are plain pytrees, models are pure ``init``/``apply`` functions, and every
numeric hyperparameter stays traceable so that restarts and sweeps are one
``jax.vmap``. The names below are the public API; see README.md for an overview.
"""

from jaxnn import adapters, data, distributed, optim, schedules, study
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
from jaxnn.early_stopping import EarlyStoppingState, early_stopping_init, early_stopping_update
from jaxnn.losses import binary_cross_entropy, cross_entropy
from jaxnn.mlp import init_mlp, mlp_apply
from jaxnn.models import MLP, Model
from jaxnn.objective import evaluate, predictions
from jaxnn.optim import gradient_descent, heavy_ball
from jaxnn.penalties import l1_penalty, l2_penalty, weight_leaves
from jaxnn.perceptron import (
    GATE_PARAMS,
    PerceptronHistory,
    gate,
    perceptron_fit,
    perceptron_predict,
    perceptron_score,
)
from jaxnn.prediction import predict, predict_proba
from jaxnn.proximal import l1_proximal, soft_threshold
from jaxnn.saving import load, save
from jaxnn.study import StudyResult, StudySummary, expected_best_of_k, restarts, sweep
from jaxnn.training import FitConfig, FitResult, FitState, History, fit

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "GATE_PARAMS",
    "MLP",
    "EarlyStoppingState",
    "FitConfig",
    "FitResult",
    "FitState",
    "History",
    "Model",
    "PerceptronHistory",
    "StudyResult",
    "StudySummary",
    "adapters",
    "binary_cross_entropy",
    "cross_entropy",
    "data",
    "distributed",
    "dropout",
    "early_stopping_init",
    "early_stopping_update",
    "evaluate",
    "expected_best_of_k",
    "fit",
    "gate",
    "get_activation",
    "gradient_descent",
    "heavy_ball",
    "init_mlp",
    "l1_penalty",
    "l1_proximal",
    "l2_penalty",
    "load",
    "mlp_apply",
    "one_hot",
    "optim",
    "perceptron_fit",
    "perceptron_predict",
    "perceptron_score",
    "predict",
    "predict_proba",
    "predictions",
    "relu",
    "relu_derivative",
    "restarts",
    "save",
    "schedules",
    "sigmoid",
    "sigmoid_derivative",
    "soft_threshold",
    "softmax",
    "step",
    "study",
    "sweep",
    "tanh",
    "tanh_derivative",
    "weight_leaves",
]
