"""Experiment 1, Sec. 2.2 and Figures 2-3: He's initialisation (Eqn 14) trains the
30-layer plain ReLU net where "Xavier" stalls it; on the 22-layer net both converge,
He's starting to reduce the error earlier.

Each (model, initialisation, seed) is a training run. Each run also records, before its
first step, the cross-entropy and every conv/fc kernel's gradient norm on its first batch
(`InitialGradients`): the paper's "the gradients are diminishing".
"""

import dataclasses
import json
import math
from pathlib import Path
from typing import NamedTuple

import keras
import tensorflow as tf

from keras_prelu import plotting
from keras_prelu.data import catalog
from keras_prelu.experiments import common
from keras_prelu.settings import setting
from keras_prelu.training import inputs
from keras_prelu.training.run_directory import write_json
from keras_prelu.zoo.options import INITIALIZERS
from keras_prelu.zoo.registry import CardTable

NAME = "init"
KIND = "training"  # of its jobs, for the time estimates (common.Progress)
TITLE = "Initialisation (Sec. 2.2, Figures 2 and 3)"
GRADIENTS_FILE = "initial_gradients.json"
# A run "learns from epoch k" if its validation error is this far below chance from epoch
# k to the end, and "stalls" if it never is (Figure 3, right: Xavier "completely stalls").
LEARNING_MARGIN = 0.05
LABELS = {"he_fan_out": "He (Eqn 14)", "he_fan_in": "He (Eqn 10)", "xavier": '"Xavier"',
          "gaussian": "std 0.01"}


class Figure(NamedTuple):
    """What the paper reports for the plain ReLU net of a depth (Sec. 2.2)."""

    name: str
    claim: str
    xavier_stalls: bool


# Keyed by depth (conv + fc layers). The paper's 22-layer net is model B of Table 3 (3x3
# convs, wide); here it is plain22, Table 1's model with eight more 2x2 convs.
FIGURES = {
    22: Figure("Figure 2: model B, 22 layers", "both converge, He starts reducing the error "
               "earlier", False),
    30: Figure("Figure 3: 30 layers", "He converges, \"Xavier\" completely stalls", True),
}
COLORS = {"he_fan_out": "C3", "he_fan_in": "C1", "xavier": "C0", "gaussian": "C2"}  # red, blue


@dataclasses.dataclass(frozen=True)
class Settings(common.TrainedExperiment):
    """The training settings every run shares, the models and the initialisations."""

    ARM_FIELDS = ("model", "kernel_initializer")

    models: tuple[str, ...] = setting(("plain30", "plain22"), "the plain nets trained")
    initializers: tuple[str, ...] = setting(
        ("he_fan_out", "xavier"), f"the initialisations compared, among {INITIALIZERS}")

    def __post_init__(self):
        super().__post_init__()
        common.check_choices("initializers", self.initializers, INITIALIZERS)
        common.check_choices("models", self.models, self.models)

    def quick(self):
        """`TrainedExperiment.quick`, and the first model only."""
        return super().quick().replace(models=self.models[:1])

    def arms(self):
        """One `Arm` per model, initialisation and seed."""
        return [common.Arm(f"{model}-{init}-s{seed}", {"model": model, "kernel_initializer": init},
                           seed)
                for model in self.models for init in self.initializers for seed in self.seeds]


class InitialGradients(keras.callbacks.Callback):
    """Before a run's first step: its cross-entropy and each conv/fc kernel's gradient norm
    on the run's first batch, written to `path` as JSON (a resumed run keeps the file).

    Args:
        path: the JSON file (in the run's directory).
        first_batch: `first_batch()` -> (images, labels) of the run's first step.
    """

    def __init__(self, path, first_batch):
        super().__init__()
        self.path, self.first_batch = Path(path), first_batch

    def on_train_begin(self, logs=None):
        if self.path.exists() or int(self.model.optimizer.iterations.numpy()) != 0:
            return
        images, labels = self.first_batch()
        layers = [layer for layer in self.model.layers
                  if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
        with tf.GradientTape() as tape:
            scores = self.model(images, training=True)
            cross_entropy = tf.reduce_mean(
                keras.losses.sparse_categorical_crossentropy(labels, scores))
            loss = cross_entropy + tf.add_n([tf.constant(0.0), *self.model.losses])
        gradients = tape.gradient(loss, [layer.kernel for layer in layers])
        write_json(self.path, {
            "cross_entropy": float(cross_entropy),
            "layers": [layer.name for layer in layers],
            "gradient_norms": [float(tf.norm(gradient)) for gradient in gradients],
        })


def first_batch(config):
    """The first training batch of the run of `config`: its pipeline, mean and order."""
    data = inputs.load(config, catalog.get(config.dataset), config.seed)
    return next(iter(data.train(0)))


def _callbacks(config):
    return [InitialGradients(Path(config.output_dir) / GRADIENTS_FILE,
                             lambda: first_batch(config))]


def initial_scores(settings, data):
    """The scores before training with and without the paper's small fc stds.

    For each model and initialisation, built with the first seed as its run is: the std
    of fc3's logits and the cross-entropy on the run's first batch, with the fc layers
    drawn by the initialisation itself (`small_fc_init=False`) and with the paper's stds.
    """
    rows = []
    for model in settings.models:
        for init in settings.initializers:
            for small in (True, False):
                config = settings.run_config("-", settings.seeds[0], model=model,
                                             kernel_initializer=init, small_fc_init=small)
                images, labels = first_batch(config)
                keras.utils.set_random_seed(config.seed)
                built = config.build_model(input_shape=data.input_shape, classes=data.classes,
                                           classifier_activation=None)
                logits = built(images, training=False)
                rows.append({
                    "model": model, "kernel_initializer": init, "small_fc_init": small,
                    "logits_std": float(tf.math.reduce_std(logits)),
                    "cross_entropy": float(tf.reduce_mean(
                        keras.losses.sparse_categorical_crossentropy(labels, logits,
                                                                     from_logits=True))),
                })
    return rows


prepare = common.prepare_trained
plan = common.plan_trained


def describe(settings):
    """What the experiment does, for its progress line."""
    return (f"{len(settings.arms())} runs: {', '.join(settings.models)} x "
            f"{', '.join(settings.initializers)} x seeds {list(settings.seeds)}")


def run(settings, data, context):
    """Trains every run; returns the results (JSON-compatible)."""
    runs = common.train_arms(NAME, settings, data, context, callbacks=_callbacks)
    for record in runs:
        path = Path(record["output_dir"]) / GRADIENTS_FILE
        record["initial"] = json.loads(path.read_text(encoding="utf-8"))
    return {"runs": runs, **common.run_facts(runs),
            "initial_scores": initial_scores(settings, data)}


def derive(results):
    """What the results JSON states beside the runs: their `summarise`."""
    return {"summary": summarise(results["runs"], results["data"]["classes"])}


def learning_epoch(errors, chance):
    """The first epoch (from 1) from which every validation error is LEARNING_MARGIN below
    chance, or None (a stall).

    Example:

    >>> learning_epoch([0.9, 0.79, 0.91, 0.8, 0.5], 0.9)  # the dip at epoch 2 is undone
    4
    """
    epoch = None
    for i, error in enumerate(errors):
        if error >= chance - LEARNING_MARGIN:
            epoch = None
        elif epoch is None:
            epoch = i + 1
    return epoch


def summarise(runs, classes):
    """Per model, initialisation and seed: the final errors, the epoch it learns from, how
    far its training loss strays from ln(classes), its validation errors."""
    chance = 1 - 1 / classes
    arms, depths = {}, {}
    for record in runs:
        depths[record["model"]] = len(record["initial"]["layers"])  # conv + fc layers
        history = record["history"]
        arms.setdefault(record["model"], {}).setdefault(record["kernel_initializer"], []).append({
            "seed": record["seed"],
            "test_top1_error": record["test_top1_error"],
            "final_val_top1_error": history["val_top1_error"][-1],
            "learning_epoch": learning_epoch(history["val_top1_error"], chance),
            "val_top1_error": history["val_top1_error"],
            "max_loss_gap": max(abs(loss - math.log(classes)) for loss in history["loss"]),
            "initial_cross_entropy": record["initial"]["cross_entropy"],
        })
    return {"chance_error": chance, "ln_classes": math.log(classes), "models": arms,
            "depths": depths}


def passes(history, steps, batch, train_images):
    """Each epoch's end in passes over the training images (epochs may be cut short)."""
    per_epoch = steps / len(history["epoch"])
    return [per_epoch * (epoch + 1) * batch / train_images for epoch in history["epoch"]]


def figures(results):
    """The file names of the plots."""
    return ["init_convergence.png", "init_gradients.png"]


def plot(results, folder):
    """Figures 2-3 (validation error against training passes, both initialisations, per
    model) and the first step's gradient norms per layer; returns the PNGs' paths."""
    runs = results["runs"]
    models = list(dict.fromkeys(record["model"] for record in runs))
    chance = 100 * results["summary"]["chance_error"]
    train_images = results["data"]["train"]
    curves, gradients = [], []
    for model in models:
        lines, norms = [], []
        for record in (r for r in runs if r["model"] == model):
            init = record["kernel_initializer"]
            label = f"{LABELS[init]}, seed {record['seed']}"
            x = passes(record["history"], record["steps"],
                       results["settings"]["global_batch_size"], train_images)
            lines.append(plotting.Curve(f"{label}: validation", x,
                                        [100 * e for e in record["history"]["val_top1_error"]],
                                        COLORS[init]))
            lines.append(plotting.Curve(f"{label}: training", x,
                                        [100 * e for e in record["history"]["top1_error"]],
                                        COLORS[init], linestyle=":", marker=None))
            norms.append(plotting.Curve(label, None, record["initial"]["gradient_norms"],
                                        COLORS[init]))
        curves.append(plotting.Panel(model, tuple(lines),
                                     hlines=((chance, f"chance ({chance:.0f}%)"),)))
        layers = next(r for r in runs if r["model"] == model)["initial"]["layers"]
        gradients.append(plotting.Panel(model, tuple(norms), xticklabels=tuple(layers)))
    return [
        plotting.curve_panels(
            curves, Path(folder) / figures(results)[0],
            title="Figures 2-3 (Sec. 2.2): plain ReLU nets, He vs \"Xavier\" initialisation",
            xlabel="passes over the training images (epochs)", ylabel="top-1 error (%)"),
        plotting.curve_panels(
            gradients, Path(folder) / figures(results)[1],
            title="Sec. 2.2: gradient norm of each layer's kernel before the first step",
            xlabel="layer (input to output)", ylabel="||dL/dW|| (log scale)", log_y=True,
            height=5.5),
    ]


def _percent(value):
    return "-" if value is None else f"{100 * value:.2f}"


def verdicts(summary, steps_per_epoch):
    """One line per model the paper has a figure for: its finding, ours, whether they match."""
    ln = summary["ln_classes"]
    lines = []
    for model, inits in summary["models"].items():
        he, xavier = inits.get("he_fan_out"), inits.get("xavier")
        figure = FIGURES.get(summary["depths"][model])
        if not he or not xavier or figure is None:
            continue
        he_learns = all(r["learning_epoch"] is not None for r in he)
        xavier_stalls = all(r["learning_epoch"] is None for r in xavier)
        first = {name: [r["learning_epoch"] for r in runs]
                 for name, runs in (("he", he), ("xavier", xavier))}
        found = (f"learns from epoch (validation error {100 * LEARNING_MARGIN:.0f} points below "
                 f"chance to the end): He {_epochs(first['he'])}, \"Xavier\" "
                 f"{_epochs(first['xavier'])}")
        leads = []
        if figure.xavier_stalls:
            matches = he_learns and xavier_stalls
            gap = max(r["max_loss_gap"] for r in xavier)
            found += (f"; \"Xavier\"'s training loss within {gap:.4f} of ln "
                      f"{round(math.exp(ln))} = {ln:.4f} in every epoch")
        else:
            matches = he_learns and not xavier_stalls and all(
                h < x for h, x in zip(first["he"], first["xavier"], strict=True))
            below = [sum(a < b for a, b in zip(h["val_top1_error"], x["val_top1_error"],
                                                strict=True))
                     for h, x in zip(he, xavier, strict=True)]
            epochs = len(he[0]["val_top1_error"])
            leads = [(x - h) * steps_per_epoch for h, x in zip(first["he"], first["xavier"],
                                                               strict=True) if h and x]
            found += (f"; He's validation error below \"Xavier\"'s in "
                      f"{', '.join(f'{b} of {epochs}' for b in below)} epochs"
                      + (f"; He ahead by {', '.join(map(str, leads))} steps over "
                         f"{len(he)} seed{'s' * (len(he) > 1)}" if leads else ""))
        # A lead of one short epoch in every seed is the least the epochs can show.
        narrow = not figure.xavier_stalls and all(lead <= steps_per_epoch for lead in leads)
        verdict = ("Does not match the paper" if not matches else
                   "Matches the paper, narrowly (by one short epoch)" if narrow else
                   "Matches the paper")
        lines.append(f"- **{model}** ({figure.name}, {figure.claim}). Here: {found}. "
                     f"**{verdict}.**")
    return lines


def _epochs(values):
    return ", ".join("never" if v is None else str(v) for v in values)


def report(results, links):
    """The README's part: configuration, table, figures, verdicts (Markdown lines)."""
    s = results["settings"]
    summary = results["summary"]
    rows = [f"| model | initialisation | seed | learns from epoch | final validation "
            f"error (%) | test error (%) | cross-entropy before step 1 | max over epochs of "
            f"\\|training loss - ln {round(math.exp(summary['ln_classes']))}\\| |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for model, inits in summary["models"].items():
        for init, runs in inits.items():
            for r in runs:
                rows.append(
                    f"| {model} | {LABELS[init]} | {r['seed']} | "
                    f"{'never' if r['learning_epoch'] is None else r['learning_epoch']} | "
                    f"{_percent(r['final_val_top1_error'])} | {_percent(r['test_top1_error'])} | "
                    f"{r['initial_cross_entropy']:.4f} | {r['max_loss_gap']:.4f} |")
    return [
        f"**Setup.** {', '.join(s['models'])} (ReLU), width {s['width']:g}, "
        f"stem {s['stem']}, fc {s['fc_units']}, {_fc_init(s)}; "
        f"{s['epochs']} epochs of {s['steps_per_epoch']} steps of {s['global_batch_size']} "
        f"images, learning rate {s['learning_rates'][0]:g}, momentum {s['momentum']:g}, "
        f"weight decay {s['weight_decay']:g}, dropout {s['dropout']:g}; seeds "
        f"{s['seeds']}; {common.data_sentence(results)}. {common.time_sentence(results)}",
        "",
        *rows,
        "",
        f"![Figures 2-3]({links['init_convergence.png']})",
        "",
        f"![gradient norms]({links['init_gradients.png']})",
        "",
        *verdicts(summary, s["steps_per_epoch"]),
    ]


def _fc_init(s):
    if s["small_fc_init"]:
        return "fc layers drawn with std 0.01, 0.01, 0.001 in both arms (Sec. 2.2)"
    return "every conv and fc layer drawn by the initialisation compared"


def card_tables(results):
    """{model: [CardTable]}: each trained model's measured errors per initialisation."""
    tables = {}
    s = results["settings"]
    for model, inits in results["summary"]["models"].items():
        rows = tuple(
            (LABELS[init], r["seed"], _percent(r["test_top1_error"]),
             "never" if r["learning_epoch"] is None else r["learning_epoch"])
            for init, runs in inits.items() for r in runs)
        tables[model] = [CardTable(
            f"Initialisation of {model} on {results['data']['dataset']} (Sec. 2.2; width "
            f"{s['width']:g}, {s['epochs']} x {s['steps_per_epoch']} steps; results/init.json)",
            ("initialisation", "seed", "test top-1 error (%)", "learns from epoch"), rows)]
    return tables
