"""Experiment 5, Sec. 2.2 (Eqns 9 and 13): the std of every layer's response and of the
gradient reaching it, at initialisation, for models A, B, C and the 30-layer net under He
(fan-in, Eqn 10; fan-out, Eqn 14), "Xavier" and a fixed std of 0.01.

No training: each model is built with each initialisation on every conv and fc layer
(`small_fc_init=False`) and measured on a random batch (`keras_prelu.zoo.signal_propagation`),
beside what Eqns 9 and 13 predict from the drawn weights (`keras_prelu.zoo.predicted_gains`).
"""

import dataclasses
import functools
import gc
import math
import os
import time
from pathlib import Path

import keras

from keras_prelu import plotting, zoo
from keras_prelu.experiments import common
from keras_prelu.settings import Settings as SettingsBase
from keras_prelu.settings import setting
from keras_prelu.zoo.options import ACTIVATIONS, INITIALIZERS

NAME = "variance"
KIND = "measurement"  # of its jobs, for the time estimates (common.Progress)
TITLE = "Variance at initialisation (Sec. 2.2, Eqns 9 and 13)"
LABELS = {"he_fan_in": "He fan-in (Eqn 10)", "he_fan_out": "He fan-out (Eqn 14)",
          "xavier": '"Xavier"', "gaussian": "std 0.01"}
COLORS = {"he_fan_in": "C1", "he_fan_out": "C3", "xavier": "C0", "gaussian": "C2"}
# Measured/predicted factors that differ by less than this (relative) are "the same".
AGREEMENT = 0.1
SLOPES = {"relu": 0.0, "lrelu": 0.25, "prelu": 0.25, "prelu_shared": 0.25}  # a of Eqn 15


@dataclasses.dataclass(frozen=True)
class Settings(SettingsBase):
    """Which models, initialisations and batch."""

    models: tuple[str, ...] = setting(("model_a", "model_b", "model_c", "plain30"),
                                      "the zoo models measured")
    initializers: tuple[str, ...] = setting(
        ("he_fan_in", "he_fan_out", "xavier", "gaussian"),
        f"the initialisations, among {INITIALIZERS} (gaussian: std 0.01)")
    activation: str = setting("relu", "the rectifier of every model (Sec. 2.2 derives for "
                              "ReLU; PReLU's initial slope 0.25 enters He's std)",
                              choices=ACTIVATIONS)
    input_size: int = setting(224, "side of the random images (Table 3: 224)")
    batch_size: int = setting(2, "random images per measurement")
    width: float = setting(1.0, "multiplier of every conv layer's filters (1: the paper's)")
    fc_units: int = setting(4096, "units of fc1 and fc2 (the paper's: 4096)")
    seed: int = setting(0, "seed of the weights, the images and the injected gradient")

    def __post_init__(self):
        super().__post_init__()
        common.check_choices("models", self.models, zoo.names())
        common.check_choices("initializers", self.initializers, INITIALIZERS)
        for name in ("input_size", "batch_size", "fc_units"):
            if getattr(self, name) < 1:
                raise ValueError(f"Setting {name} must be at least 1, got {getattr(self, name)}.")
        if not self.width > 0:
            raise ValueError(f"Setting width must be positive, got {self.width}.")

    def quick(self):
        """Cut down to seconds: the first model only, 1/16 of the width, 64 fc units, one
        112-px image (models A, B, C take no less)."""
        return self.replace(models=self.models[:1], width=self.width / 16, fc_units=64,
                            input_size=112, batch_size=1)

    def build(self, model, initializer):
        return zoo.get(model, activation=self.activation, kernel_initializer=initializer,
                       small_fc_init=False, width=self.width, fc_units=self.fc_units,
                       input_shape=(self.input_size, self.input_size, 3))


def describe(settings):
    """What the experiment does, for its progress line."""
    return (f"{len(settings.models) * len(settings.initializers)} measurements: "
            f"{', '.join(settings.models)} x {', '.join(settings.initializers)}, no training")


@functools.cache
def _macs(settings, model):
    with keras.StatelessScope(initialize_variables=False):
        built = settings.build(model, settings.initializers[0])
        return 3 * settings.batch_size * zoo.complexity(built, built.inputs[0].shape[1:]).macs


def prepare(settings, runs_dir):
    """Builds every model once without weights: too small an input is an error here."""
    for model in settings.models:
        _macs(settings, model)


def plan(settings, data):
    return sum(_macs(settings, model) for model in settings.models) * len(settings.initializers)


def run(settings, data, context):
    """Measures every model under every initialisation; returns the results."""
    slope = SLOPES[settings.activation]
    measured, loads = {}, []
    seconds = 0.0
    for model in settings.models:
        macs = _macs(settings, model)
        for initializer in settings.initializers:
            began = time.monotonic()
            keras.utils.set_random_seed(settings.seed)
            built = settings.build(model, initializer)
            signals = zoo.signal_propagation(built, batch_size=settings.batch_size,
                                             seed=settings.seed)
            gains = zoo.predicted_gains(built, slope)
            del built
            keras.backend.clear_session()
            gc.collect()
            took = time.monotonic() - began
            seconds += took
            loads.append(common.load_average())
            measured.setdefault(model, {})[initializer] = {
                "layers": [s.name for s in signals],
                "forward_std": [s.forward_std for s in signals],
                "backward_std": [s.backward_std for s in signals],
                "forward_gain": [g.forward for g in gains],
                "backward_gain": [g.backward for g in gains],
            }
            context.progress.done(NAME, macs, took, f"{model} {initializer}: "
                                  + _ratios_line(measured[model][initializer]))
    return {"models": measured, "wall_time_s": round(seconds, 1),
            "load_average": [min(loads), max(loads)], "cpus": os.cpu_count()}


def derive(results):
    """What the results JSON states beside the measurements: their `summarise`."""
    return {"summary": summarise(results["models"])}


def ratios(entry):
    """Measured and Eqn 9 / 13 std ratios over the net: forward y_L / y_1, backward
    Dy_1 / Dy_L (the products of the gains of layers 2..L)."""
    return {
        "forward": entry["forward_std"][-1] / entry["forward_std"][0],
        "forward_eqn9": math.prod(entry["forward_gain"][1:]),
        "backward": entry["backward_std"][0] / entry["backward_std"][-1],
        "backward_eqn13": math.prod(entry["backward_gain"][1:]),
    }


def _ratios_line(entry):
    r = ratios(entry)
    return (f"forward y_L/y_1 {r['forward']:.3g} (Eqn 9: {r['forward_eqn9']:.3g}), backward "
            f"Dy_1/Dy_L {r['backward']:.3g} (Eqn 13: {r['backward_eqn13']:.3g})")


def summarise(measured):
    return {model: {init: ratios(entry) for init, entry in inits.items()}
            for model, inits in measured.items()}


def _predicted(entry):
    """Eqn 9's forward stds from the first layer's, Eqn 13's backward stds from the last's."""
    forward = [entry["forward_std"][0]]
    for gain in entry["forward_gain"][1:]:
        forward.append(forward[-1] * gain)
    backward = [entry["backward_std"][-1]]
    for gain in reversed(entry["backward_gain"][1:]):
        backward.append(backward[-1] * gain)
    return forward, backward[::-1]


def figures(results):
    """The file names of the PNGs `plot` draws for `results`."""
    return [f"variance_{model}.png" for model in results["models"]]


def plot(results, folder):
    """One figure per model: forward and backward stds per layer, measured and predicted."""
    paths = []
    for model, inits in results["models"].items():
        forward, backward = [], []
        for init, entry in inits.items():
            predicted_forward, predicted_backward = _predicted(entry)
            forward += [plotting.Curve(f"{LABELS[init]}: measured", None, entry["forward_std"],
                                       COLORS[init]),
                        plotting.Curve(f"{LABELS[init]}: Eqn 9", None, predicted_forward,
                                       COLORS[init], linestyle="--", marker=None)]
            backward += [plotting.Curve(f"{LABELS[init]}: measured", None,
                                        entry["backward_std"], COLORS[init]),
                         plotting.Curve(f"{LABELS[init]}: Eqn 13", None, predicted_backward,
                                        COLORS[init], linestyle="--", marker=None)]
        layers = tuple(next(iter(inits.values()))["layers"])
        paths.append(plotting.curve_panels(
            [plotting.Panel("forward: std of the response y_l (Eqn 9)", tuple(forward),
                            xticklabels=layers),
             plotting.Panel("backward: std of the gradient at y_l (Eqn 13)", tuple(backward),
                            xticklabels=layers)],
            Path(folder) / f"variance_{model}.png",
            title=f"Eqns 9 and 13 (Sec. 2.2): {model} at initialisation, ReLU",
            xlabel="layer (input to output)", ylabel="std (log scale)", log_y=True,
            height=6.5, nrows=2))
    return paths


def _ratio(value):
    return f"{value:.3g}" if value > 0 else "0 (underflow)"


def report(results, links):
    """The experiment's part of the README's Reproduction block (Markdown lines); `links`
    maps each figure's file name to its link from the README."""
    s = results["settings"]
    rows = ["| model | initialisation | forward y_L / y_1: measured | Eqn 9 | backward "
            "Dy_1 / Dy_L: measured | Eqn 13 |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for model, inits in results["summary"].items():
        for init, r in inits.items():
            rows.append(f"| {model} | {LABELS[init]} | {_ratio(r['forward'])} | "
                        f"{r['forward_eqn9']:.3g} | {_ratio(r['backward'])} | "
                        f"{r['backward_eqn13']:.3g} |")
    images = [f"![{model}]({links[f'variance_{model}.png']})" for model in results["models"]]
    return [
        f"**Setup.** {', '.join(s['models'])} at width {s['width']:g} with fc {s['fc_units']}, "
        f"{s['activation']}, every conv and fc layer drawn by the initialisation (no small fc "
        f"stds); {s['batch_size']} N(0, 1) images of {s['input_size']}x{s['input_size']}, "
        f"the backward pass started by N(0, 1) noise at the last layer's response; seed "
        f"{s['seed']}. {common.time_sentence(results)}",
        "",
        *rows,
        "",
        *[line for image in images for line in (image, "")],
        *verdicts(results),
    ]


def _factors(inits, direction, equation):
    """measured / predicted per initialisation, leaving out ratios that underflowed to 0."""
    return {init: r[direction] / r[equation] for init, r in inits.items() if r[direction] > 0}


def verdicts(results):
    """Per model: do Eqns 9 and 13 hold up to one factor the same for every initialisation
    (the pools'), and is "Xavier" 1/sqrt(2)^(L-1) of He's (fan-in), as Sec. 2.2 says?"""
    lines = []
    for model, inits in results["summary"].items():
        depth = len(results["models"][model][next(iter(inits))]["layers"])
        parts, matches = [], True
        for direction, equation, name in (("forward", "forward_eqn9", "Eqn 9"),
                                          ("backward", "backward_eqn13", "Eqn 13")):
            factors = _factors(inits, direction, equation)
            low, high = min(factors.values()), max(factors.values())
            matches &= high / low <= 1 + AGREEMENT
            parts.append(f"measured / {name} = {low:.4g} to {high:.4g}")
        underflow = [LABELS[i] for i, r in inits.items() if min(r["forward"], r["backward"]) <= 0]
        if "xavier" in inits and "he_fan_in" in inits:
            ratio = inits["xavier"]["forward"] / inits["he_fan_in"]["forward"]
            paper_ratio = 2 ** (-(depth - 1) / 2)
            matches &= abs(ratio / paper_ratio - 1) <= AGREEMENT
            parts.append(f'"Xavier" / He fan-in, forward: {ratio:.3g} (Sec. 2.2: 1/sqrt(2)^'
                         f"(L-1) = {paper_ratio:.3g})")
        lines.append(
            f"- **{model}** ({depth} layers): " + "; ".join(parts)
            + (f"; {', '.join(underflow)}: the std underflows to 0 in float32" if underflow
               else "")
            + (". **Matches Sec. 2.2** (up to the pools' factor, the same for every "
               "initialisation)." if matches else ". **Does not match Sec. 2.2.**"))
    return lines


def card_tables(results):
    """{model: [CardTable]}: the measured tables for the model cards (`keras_prelu.zoo.cards`)."""
    from keras_prelu.zoo.registry import CardTable

    tables = {}
    for model, inits in results["summary"].items():
        rows = tuple((LABELS[init], _ratio(r["forward"]), f"{r['forward_eqn9']:.3g}",
                      _ratio(r["backward"]), f"{r['backward_eqn13']:.3g}")
                     for init, r in inits.items())
        tables[model] = [CardTable(
            "Signal at initialisation (Eqns 9, 13; results/variance.json)",
            ("initialisation", "forward y_L/y_1", "Eqn 9", "backward Dy_1/Dy_L", "Eqn 13"),
            rows)]
    return tables
