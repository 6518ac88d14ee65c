"""The verdicts against the paper's findings: the 30-layer net (Figure 3: "Xavier" stalls),
the 22-layer net (Figure 2: He starts earlier), Sec. 2.2's variance (Eqns 10 and 14 make
the factors 1; "Xavier" is 1/sqrt(2)^(L-1) of He), Table 2 and Figure 4."""

import math

import numpy as np
import pytest

from keras_prelu.experiments import activations, common, convergence, initialisation, variance

LN10 = math.log(10)


def init_run(model, init, errors, losses=None, seed=1):
    """A run record of the init experiment with these validation errors per epoch."""
    depth = {"plain30": 30, "plain22": 22}[model]
    return {"model": model, "kernel_initializer": init, "seed": seed,
            "test_top1_error": errors[-1],
            "history": {"val_top1_error": errors,
                        "loss": losses or [1.0] * len(errors)},
            "initial": {"layers": [f"l{i}" for i in range(depth)], "cross_entropy": LN10}}


def init_verdict(*runs, steps=20):
    [line] = initialisation.verdicts(initialisation.summarise(list(runs), 10), steps)
    return line


LEARNS = [0.9, 0.7, 0.4, 0.3, 0.25]
STALLS = [0.9, 0.9, 0.9, 0.9, 0.9]


def test_30_layers_matches_figure_3_only_when_xavier_stalls_and_he_learns():
    stalled = [LN10 + 1e-4, LN10 - 2e-4, LN10, LN10, LN10]
    line = init_verdict(init_run("plain30", "he_fan_out", LEARNS),
                        init_run("plain30", "xavier", STALLS, stalled))
    assert "Figure 3" in line and line.endswith("**Matches the paper.**")
    assert 'He 2, "Xavier" never' in line and "within 0.0002 of ln 10" in line
    # "Xavier" learning too, or He stalling too: not what Figure 3 shows.
    for he, xavier in ((LEARNS, [0.9, 0.9, 0.9, 0.8, 0.6]), (STALLS, STALLS)):
        line = init_verdict(init_run("plain30", "he_fan_out", he),
                            init_run("plain30", "xavier", xavier))
        assert line.endswith("**Does not match the paper.**")


def test_22_layers_matches_figure_2_when_both_learn_and_he_starts_earlier():
    late = [0.9, 0.9, 0.9, 0.5, 0.3]  # learns from epoch 4, 2 epochs after He
    line = init_verdict(init_run("plain22", "he_fan_out", LEARNS),
                        init_run("plain22", "xavier", late))
    assert "Figure 2" in line and line.endswith("**Matches the paper.**")
    assert "He ahead by 40 steps" in line
    one_epoch = [0.9, 0.9, 0.5, 0.35, 0.3]
    line = init_verdict(init_run("plain22", "he_fan_out", LEARNS),
                        init_run("plain22", "xavier", one_epoch))
    assert line.endswith("**Matches the paper, narrowly (by one short epoch).**")
    for he, xavier in ((late, LEARNS), (LEARNS, STALLS)):  # "Xavier" first; "Xavier" stalls
        line = init_verdict(init_run("plain22", "he_fan_out", he),
                            init_run("plain22", "xavier", xavier))
        assert line.endswith("**Does not match the paper.**")


def test_learning_epoch_against_a_loop_reference():
    rng = np.random.default_rng(0)
    for _ in range(200):
        errors = list(rng.choice([0.5, 0.84, 0.86, 0.9], size=6))
        below = [e < 0.9 - initialisation.LEARNING_MARGIN for e in errors]
        # The first epoch after the last one at chance, if every later one is below it.
        last_bad = max((i for i, b in enumerate(below) if not b), default=-1)
        expected = None if last_bad == len(errors) - 1 else last_bad + 2
        assert initialisation.learning_epoch(errors, 0.9) == expected


@pytest.fixture(scope="module")
def measured():
    """The variance experiment on the 30-layer net (1/16 width, 64 fc units, 80 px)."""
    settings = variance.Settings(models=("plain30",),
                                 initializers=("he_fan_in", "he_fan_out", "xavier"),
                                 width=1 / 16, fc_units=64, input_size=80, batch_size=2)
    progress = common.Progress({"variance": variance.plan(settings, None)},
                               {"variance": "measurement"})
    results = variance.run(settings, None, common.Context(None, progress, {}))
    return {**results, **variance.derive(results), "settings": settings.to_dict()}


def test_variance_follows_eqns_10_and_14_and_the_xavier_factor(measured):
    summary = measured["summary"]["plain30"]
    # Eqn 10 makes every forward factor (1/2) n Var[w] 1, Eqn 14 every backward one; the
    # drawn weights' factors, multiplied over layers 2..30, stay within sampling noise.
    assert summary["he_fan_in"]["forward_eqn9"] == pytest.approx(1, rel=0.1)
    assert summary["he_fan_out"]["backward_eqn13"] == pytest.approx(1, rel=0.1)
    # Sec. 2.2: "Xavier" (std sqrt(1/n)) shrinks the response by 1/sqrt(2) per layer.
    ratio = summary["xavier"]["forward"] / summary["he_fan_in"]["forward"]
    assert ratio == pytest.approx(2 ** -14.5, rel=0.1)
    [line] = variance.verdicts(measured)
    assert line.startswith("- **plain30** (30 layers)") and "**Matches Sec. 2.2**" in line


def test_variance_verdict_fails_when_the_xavier_factor_is_not_the_papers(measured):
    # He fan-out's numbers in "Xavier"'s place: no 2^(-14.5) factor, no match.
    summary = measured["summary"]["plain30"]
    swapped = {**measured, "summary": {"plain30": {**summary, "xavier": summary["he_fan_out"]}}}
    [line] = variance.verdicts(swapped)
    assert "**Does not match Sec. 2.2.**" in line


def test_activation_verdicts_against_table_2():
    # Table 2: PReLU -1.18 / -1.12 points below ReLU, LReLU about the same (-0.03).
    def runs(errors):
        return [{"activation": a, "seed": s, "test_top1_error": e}
                for a, by_seed in errors.items() for s, e in enumerate(by_seed, start=1)]

    relu = [0.200, 0.207, 0.203]
    lines = activations.verdicts(activations.summarise(runs({
        "relu": relu, "lrelu": [0.201, 0.206, 0.204],
        "prelu_shared": [0.150, 0.160, 0.155], "prelu": [0.199, 0.208, 0.2]}),
        ("relu", "lrelu", "prelu_shared", "prelu")))
    verdicts = dict(line.split("**: ", 1) for line in lines)
    assert verdicts["- **LReLU (a = 0.25)"].endswith("**Matches.**")
    assert verdicts["- **PReLU, channel-shared"].endswith("**Matches.**")
    assert verdicts["- **PReLU, channel-wise"].endswith(
        "**Lower, but within the seed-to-seed spread: does not confirm it.**")


def test_convergence_counts_the_epochs_below_the_baseline_like_numpy():
    rng = np.random.default_rng(1)
    history = {a: {s: {c: list(rng.uniform(0.1, 0.3, 6)) for c in ("top1_error",
                                                                   "val_top1_error")}
                   for s in (1, 2)} for a in ("relu", "prelu")}
    runs = [{"activation": a, "seed": s, "test_top1_error": h["val_top1_error"][-1],
             "history": {**h, "epoch": list(range(6))}}
            for a, by_seed in history.items() for s, h in by_seed.items()]
    summary = convergence.summarise(runs, ("relu", "prelu"))
    for column in ("top1_error", "val_top1_error"):
        expected = [int(np.sum(np.array(history["prelu"][s][column])
                               < np.array(history["relu"][s][column]))) for s in (1, 2)]
        assert summary["activations"]["prelu"][f"epochs_{column}_below"] == expected
    [line] = convergence.verdicts(summary)
    assert line.startswith("- **PReLU vs ReLU**")
