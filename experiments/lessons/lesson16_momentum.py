"""Lesson 16: heavy-ball momentum reaches the loss in fewer steps than plain descent.

    python -m experiments run 16

Full-batch descent on the moons with momentum beta in ``BETAS``
(``FitConfig(momentum=beta)``; beta = 0 is plain gradient descent), every beta
from the same ``RESTARTS`` random starts. Each step adds beta times the previous
step, so along a long shallow valley steps build up to about 1 / (1 - beta) times
the plain one. From each start, plain descent runs its whole budget of epochs and
ends at some loss; momentum gets there in fewer epochs. Measuring against the
loss plain descent itself reaches keeps the comparison a measurement at every
seed and budget (a fixed target loss is one that plain descent misses at some
seeds, which would decide the claim by default).

Every seed draws its own moons, and all seeds' fits run as one compiled program:
the seeds one after the other (``lax.map``), each seed's betas and starts side by
side (:func:`jaxnn.training.run_epochs_batched`, as :func:`jaxnn.sweep` runs its
members).
"""

from __future__ import annotations

import sys
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome

LESSON = 16
TITLE = "momentum"
STATEMENT = (
    "Momentum uses the speed built up going downhill: each step adds the previous steps, "
    "the last with weight beta, the one before with beta^2, and so on (0 <= beta < 1), so "
    "it can bounce out of a local minimum or reach a low loss in fewer steps than plain "
    "gradient descent (beta = 0)."
)
N_POINTS = 512  # moons, full batch: one update per epoch, so epochs = steps
HIDDEN = (16, 16)  # a small tanh MLP for the curved boundary
LEARNING_RATE = (
    0.3  # a rate at which plain descent is stable and converges (not tuned for momentum)
)
BETAS = (0.0, 0.5, 0.9)  # plain descent, moderate and the customary 0.9
MAIN_BETA = 0.9  # the momentum the claim is about (the usual default)
EPOCHS, EPOCHS_QUICK = 600, 200  # plain descent's budget; its loss is then 0.055-0.114
RESTARTS, RESTARTS_QUICK = 4, 2  # medians over random starts
SPEEDUP = 2.0  # "sooner": at least twice as fast, not a difference within restart noise
COLOURS = ("black", "tab:blue", "tab:orange")  # one per beta of BETAS


def _epochs_to(loss: np.ndarray, target: float) -> float:
    hit = np.nonzero(loss <= target)[0]
    return float(hit[0] + 1) if hit.size else float("inf")


@partial(jax.jit, static_argnames=("epochs", "restarts"))
def _fits(keys: jax.Array, *, epochs: int, restarts: int):
    """Every seed's training loss per epoch, (seeds, betas, restarts, epochs), and the
    loss at each start, (seeds, restarts): one compiled program.

    Seed s draws its moons from fold_in(key, 0); start r is fold_in(fold_in(key, 1),
    r) for every beta (a fit draws its weights from fold_in(its key, 0)).
    """
    model = jaxnn.MLP((2, *HIDDEN, 1), activation="tanh")
    base = jaxnn.FitConfig(learning_rate=LEARNING_RATE, epochs=epochs, train_metrics="end_of_epoch")
    members = [(b, r) for b in BETAS for r in range(restarts)]
    configs = jax.tree.map(
        lambda *xs: np.asarray(xs, np.float32), *(base.replace(momentum=b) for b, _ in members)
    )
    plan = jaxnn.training.make_plan(base, N_POINTS, False, model)

    def one(key):
        x, y = jaxnn.data.make_moons(jax.random.fold_in(key, 0), N_POINTS)
        x = jaxnn.data.standardize(x)
        starts = jax.random.fold_in(key, 1)
        fit_keys = jnp.stack([jax.random.fold_in(starts, r) for _, r in members])
        states = jax.vmap(lambda k, c: jaxnn.training.init_state(k, model, c, plan))(
            fit_keys, configs
        )
        start_loss = jax.vmap(lambda p: jaxnn.binary_cross_entropy(model.apply(p, x), y))(
            jax.tree.map(lambda a: a[:restarts], states.params)  # beta 0's starts: all betas'
        )
        states, train, _ = jaxnn.training.loop_layout(states, (x, y), None, plan)
        states = jaxnn.training.run_epochs_batched(
            states, model, configs, plan, train, None, epochs
        )
        loss = states.history.train_loss.reshape(len(BETAS), restarts, epochs)
        return loss, start_loss, jnp.sum(states.diverged_epoch >= 0)

    return jax.lax.map(one, keys)


def run_seeds(keys: jax.Array, out_dir: str | None, *, quick: bool = False) -> list[Outcome]:
    epochs = EPOCHS_QUICK if quick else EPOCHS
    restarts = RESTARTS_QUICK if quick else RESTARTS
    losses, starts, diverged = jax.tree.map(
        np.asarray, _fits(keys, epochs=epochs, restarts=restarts)
    )
    p, m = BETAS.index(0.0), BETAS.index(MAIN_BETA)
    outcomes = []
    for i in range(len(keys)):
        loss = losses[i]  # (betas, restarts, epochs)
        # from each start, the loss plain descent ends at, and the epochs every beta
        # needs to get there from that start (plain descent: its budget, or sooner)
        targets = loss[p, :, -1]
        to_target = np.array(
            [
                [_epochs_to(loss[b, r], targets[r]) for r in range(restarts)]
                for b in range(len(BETAS))
            ]
        )
        med = np.median(to_target, 1)
        final = np.median(loss[..., -1], 1)
        metrics = {
            "learning_rate": LEARNING_RATE,
            "betas": list(BETAS),
            "epochs": epochs,
            "plain_final_loss_per_start": [float(v) for v in targets],
            "median_epochs_to_plain_final_loss": [float(v) for v in med],
            "final_loss": [float(v) for v in final],
            "diverged_fits": int(diverged[i]),
            "plain_epochs_to_its_final_loss": float(med[p]),
            "momentum_epochs_to_plain_final_loss": float(med[m]),
            "plain_over_momentum_epochs": float(med[p] / med[m]),
            "momentum_final_over_plain_final": float(final[m] / final[p]),
        }
        figures = []
        if out_dir is not None and i == 0:  # figures at the first seed only
            figures.append(_figure(loss, starts[i], targets, to_target, med, out_dir))
        outcomes.append(outcome(sys.modules[__name__], metrics, figures))
    return outcomes


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    return run_seeds(key[None], out_dir, quick=quick)[0]


def _figure(loss, starts, targets, to_target, med, out_dir):
    """Left: every fit's loss per epoch from its start, a dot where it first reaches the
    loss plain descent ends at from that start; right: median epochs to get there."""
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

    epochs = loss.shape[-1]
    fig, (ax1, ax2) = plotting.figure(2)
    e = np.arange(0, epochs + 1)
    for i, b in enumerate(BETAS):
        name = "plain descent (beta 0)" if b == 0 else f"momentum beta {b:g}"
        for r in range(loss.shape[1]):
            ax1.plot(
                e,
                np.concatenate([[starts[r]], loss[i, r]]),
                color=COLOURS[i],
                lw=1,
                alpha=0.8,
                label=name if r == 0 else None,
            )
            if np.isfinite(to_target[i, r]):
                k = int(to_target[i, r])
                ax1.plot(k, loss[i, r, k - 1], "o", color=COLOURS[i], ms=5, mec="white")
    ax1.plot(
        np.zeros(len(starts)), starts, "*", color="dimgrey", ms=10, mec="white", label="starts"
    )
    lo, hi = float(np.min(targets)), float(np.max(targets))
    ax1.axhspan(lo, hi, color="red", alpha=0.12, lw=0, label="plain descent's final losses")
    ax1.set_xscale("symlog", linthresh=1, linscale=0.5)
    ax1.set_xlim(-0.15, epochs * 1.3)
    ax1.set(
        yscale="log",
        xlabel="epoch = full-batch update (0 = start, log scale above 1)",
        ylabel="training loss",
    )
    ax1.yaxis.set_major_locator(FixedLocator([0.05, 0.07, 0.1, 0.2, 0.3, 0.5, 0.7, 1]))
    ax1.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax1.yaxis.set_minor_formatter(NullFormatter())
    ax1.set_title(
        f"Full-batch descent, lr {LEARNING_RATE:g}, {loss.shape[1]} starts", fontsize=10, loc="left"
    )
    ax1.legend(fontsize=8, loc="upper right")
    names = ["plain (beta 0)" if b == 0 else f"beta {b:g}" for b in BETAS]
    bars = ax2.bar(names, med, color=COLOURS)
    ax2.bar_label(bars, [f"{v:g}" for v in med])
    ax2.set(ylabel="epochs (median over starts)", xlabel="momentum")
    ax2.set_title(
        f"Epochs to reach the loss plain descent ends at\nafter {epochs} epochs, from the "
        "same start",
        fontsize=10,
        loc="left",
    )
    ax2.margins(y=0.12)
    p, m = BETAS.index(0.0), BETAS.index(MAIN_BETA)
    ratio = f"plain / beta {MAIN_BETA:g}:\n{med[p] / med[m]:.3g} times as many epochs"
    ax2.text(0.97, 0.6, ratio, transform=ax2.transAxes, ha="right", fontsize=9)
    caption = (
        f"Left: the training loss at each epoch of plain gradient descent (black) and of "
        f"momentum beta 0.5 (blue) and 0.9 (orange), every beta run from the same "
        f"{loss.shape[1]} starting weights (grey stars, epoch 0). From each start, plain "
        f"descent ends its {epochs} epochs at a loss between {lo:.3g} and {hi:.3g} (red "
        "band); a dot marks where each run first reaches the loss plain descent ends at "
        "from its start, and momentum 0.9 gets there after far fewer epochs. Right: the "
        "median over the starts of the epochs each beta needs to get there."
    )
    return plotting.save(fig, out_dir, "momentum_loss_and_epochs.png", caption)


def verdicts(m: dict) -> list[Claim]:
    epochs = m.get("epochs", EPOCHS)
    return [
        check(
            f"Momentum {MAIN_BETA:g} reaches the loss that plain gradient descent ends at after "
            f"{epochs} steps in at most half as many steps",
            m["plain_over_momentum_epochs"],
            ">=",
            SPEEDUP,
            quantity=(
                "epochs plain descent needs to reach its final loss divided by those momentum "
                f"{MAIN_BETA:g} needs to reach it from the same start (medians over starts)"
            ),
        ),
        check(
            f"After the same number of steps, momentum {MAIN_BETA:g} ends at a lower loss than "
            "plain gradient descent",
            m["momentum_final_over_plain_final"],
            "<",
            1.0,
            quantity=(
                f"final loss of momentum {MAIN_BETA:g} divided by that of plain descent "
                "(medians over starts)"
            ),
        ),
    ]


COUNTEREXAMPLE = {
    "epochs": EPOCHS,
    "plain_over_momentum_epochs": 0.8,
    "momentum_final_over_plain_final": 1.3,
}
