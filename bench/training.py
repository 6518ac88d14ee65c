"""Training speed of the full-size networks (Sec. 3; Table 3) and of `make demo`, in one process.

    .venv/bin/python bench/training.py [--batch 32] [--repeats 3]

(a) Training-step FLOP/s of model A (Table 3: 1.9e10 multiply-adds per 224 image) at 224 px:
    one SGD-with-momentum step (`train_on_batch`, weight decay as built), counted as
    `zoo.complexity` multiply-adds x 2 FLOPs x 3 (forward, input and weight gradients), beside
    this machine's convolution throughput in the same run: the forward and both gradients of
    the largest 3x3 convs model A has (56x56, 256 -> 256 and 28x28, 512 -> 512, the better
    of the two). Prints achieved / peak. Target >= 60%.
(b) Model A against VGG-19 (with SPP, as the paper reproduced it), training-step time per image
    at 224 px. The paper: 2.6 s against 3.0 s per mini-batch of 128 on four K20s (ratio 0.87,
    Sec. 3), though their complexities are about equal (1.90e10 vs 1.96e10): model A moves
    VGG's convs off the largest maps.
(c) `make demo`'s training here: time per step and per epoch, and images per second, beside
    the 3x3-conv throughput of (a), to compare this machine with the README's figures.
    `keras_prelu.training.train` runs the demo's config for a short and a long stretch
    (`DEMO_STEPS`: one epoch of that many steps at the first learning rate, silent, in a fresh
    output folder); the difference of their wall times over the difference of steps is one
    step with the demo's input pipeline, metrics and callbacks, as start-up, tracing,
    evaluation and saving cancel. An epoch is its steps plus one pass over the validation
    set, timed on the trained model. Medians over `repeats` pairs of runs, after (a), (b).
Variants are timed in turn, `repeats` rounds, after a warm-up step; a timing repeats a short
step (the single convs) to last about `MIN_SECONDS`, so every variant of a round sees the same
stretch of machine load. Figures are medians of the per-round values (throughputs) or ratios.
"""

import argparse
import contextlib
import functools
import io
import math
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_prelu.zoo as zoo  # noqa: E402
from keras_prelu.data import catalog  # noqa: E402
from keras_prelu.training import TrainConfig, inputs, train  # noqa: E402
from keras_prelu.training.precision import dtype_policy  # noqa: E402

PAPER_SECONDS = {"model_a": 2.6, "vgg19": 3.0}  # per 128 images on four K20s (Sec. 3)
DEMO_CONFIG = Path(__file__).resolve().parents[1] / "recipes" / "configs" / "fashion_mnist.toml"
DEMO_STEPS = (10, 70)  # the short and the long stretch of the demo's training
CONV_SHAPES = ((56, 256), (28, 512))  # (side, channels) of model A's widest 3x3 layers
MIN_SECONDS = 2.0


def timed(fn, calls=1):
    """Seconds per call of `fn`, over `calls` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def training_step(name, batch):
    """A compiled SGD-momentum step of a full-size zoo model at 224 px, and its FLOPs."""
    model = zoo.get(name, activation="prelu")
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    images = rng.uniform(-128, 128, (batch, 224, 224, 3)).astype("float32")
    labels = rng.integers(0, 1000, batch)
    flops = zoo.complexity(model).macs * 2 * 3 * batch
    return (lambda: model.train_on_batch(images, labels)), flops


def conv_step(side, channels, batch):
    """Forward and both gradients of one 3x3 'same' conv, and its FLOPs."""
    conv = keras.layers.Conv2D(channels, 3, padding="same", dtype="float32")  # the fp32 peak
    conv.build((None, side, side, channels))
    x = tf.random.normal((batch, side, side, channels))
    upstream = tf.random.normal((batch, side, side, channels))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(conv(x) * upstream)
        return tape.gradient(loss, [x, conv.kernel])

    flops = side * side * 9 * channels * channels * 2 * 3 * batch
    return (lambda: [g.numpy() for g in step()]), flops


def demo_speed(repeats, config_path=DEMO_CONFIG, steps=DEMO_STEPS):
    """`make demo`'s training speed on this machine, from short runs of its config.

    The runs are one epoch of `steps[0]` or `steps[1]` steps at the first learning rate
    (a schedule's switches cost nothing per step), silent, each in a fresh directory.

    Args:
        repeats: Pairs of runs (short, long); the figures are medians over pairs.
        config_path: The demo's config file.
        steps: Steps of the short and the long run.

    Returns:
        {"step": seconds, "validation": seconds, "epoch": seconds, "steps_per_epoch": n,
        "images_per_second": training images per second over an epoch, "fixed": seconds of
        a run besides its steps (data, model, tracing, the final test, figures, saving; not
        the imports), "epochs": the demo's, "run": seconds of the whole demo, its epochs and
        the rest, "policy": the dtype policy its `mixed_precision` takes here}.

    Example:

    >>> demo_speed(1)["epoch"]  # seconds
    """
    demo = TrainConfig.load(config_path)
    data = inputs.load(demo, catalog.get(demo.dataset), demo.seed)
    steps_per_epoch = demo.steps_per_epoch or data.num_train // demo.global_batch_size
    step_times, fixed_times, validation_times = [], [], []
    for _ in range(repeats):
        seconds = []
        for n in steps:
            with tempfile.TemporaryDirectory() as output_dir:
                config = demo.replace(steps_per_epoch=n, epochs=1, switch_epochs=None,
                                      learning_rates=demo.learning_rates[:1], verbose=0,
                                      output_dir=output_dir)
                start = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    model = train(config).model
                seconds.append(time.perf_counter() - start)
        step_times.append((seconds[1] - seconds[0]) / (steps[1] - steps[0]))
        fixed_times.append(seconds[0] - steps[0] * step_times[-1])
        validation_times.append(timed(functools.partial(model.evaluate, data.validation,
                                                        verbose=0)))
    step, validation = float(np.median(step_times)), float(np.median(validation_times))
    epoch = steps_per_epoch * step + validation
    fixed = float(np.median(fixed_times))
    return {"step": step, "validation": validation, "epoch": epoch,
            "steps_per_epoch": steps_per_epoch, "fixed": fixed, "epochs": demo.epochs,
            "run": demo.epochs * epoch + fixed,
            "images_per_second": steps_per_epoch * demo.global_batch_size / epoch,
            "policy": dtype_policy(demo.mixed_precision)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The paper's 128-image mini-batch split over four GPUs: 32 per device and step.
    parser.add_argument("--batch", type=int, default=32, help="images per step (default 32)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (default 3)")
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print(f"batch {args.batch}, 224 px; {len(os.sched_getaffinity(0))} cores; keras "
          f"{keras.__version__}, tensorflow {tf.__version__}")

    variants = {f"conv {s}x{s}x{c}": conv_step(s, c, args.batch) for s, c in CONV_SHAPES}
    variants.update({name: training_step(name, args.batch) for name in PAPER_SECONDS})
    calls = {}
    for name, (fn, _) in variants.items():  # warm-up: tracing, first allocation
        fn()
        calls[name] = math.ceil(MIN_SECONDS / timed(fn))
    seconds = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, (fn, _) in variants.items():
            seconds[name].append(timed(fn, calls[name]))
    seconds = {name: np.array(times) for name, times in seconds.items()}
    rate = {name: variants[name][1] / seconds[name] for name in variants}  # FLOP/s per round
    for name in variants:
        print(f"  {name}: " + ", ".join(f"{t:.2f}" for t in seconds[name])
              + f" s per step, {np.median(rate[name]) / 1e9:.0f} GFLOP/s")

    peak = np.max([rate[f"conv {s}x{s}x{c}"] for s, c in CONV_SHAPES], axis=0)
    print(f"(a) model A training step: {np.median(rate['model_a']) / 1e9:.0f} GFLOP/s, "
          f"{np.median(rate['model_a'] / peak):.0%} of the measured 3x3-conv throughput "
          f"{np.median(peak) / 1e9:.0f} GFLOP/s (target >= 60%)")
    ratio = np.median(seconds["model_a"] / seconds["vgg19"])
    per_image = {name: np.median(seconds[name]) / args.batch for name in PAPER_SECONDS}
    paper = PAPER_SECONDS["model_a"] / PAPER_SECONDS["vgg19"]
    print(f"(b) time per image: model A {per_image['model_a']:.2f} s, VGG-19 "
          f"{per_image['vgg19']:.2f} s; model A / VGG-19 {ratio:.2f} (paper: 2.6 s / 3.0 s per "
          f"128 = {paper:.2f})")
    demo = demo_speed(args.repeats)
    print(f"(c) make demo's training here ({demo['policy']}): {1000 * demo['step']:.0f} ms "
          f"per step, {demo['epoch']:.1f} s per epoch ({demo['steps_per_epoch']} steps + "
          f"{demo['validation']:.1f} s validation), {demo['images_per_second']:.0f} images/s, "
          f"{demo['fixed']:.0f} s per run besides the epochs (with the final test); the "
          f"{demo['epochs']} epochs and the rest {demo['run'] / 60:.1f} min; "
          f"3x3-conv throughput {np.median(peak) / 1e9:.0f} GFLOP/s (compare both with the "
          "README's Performance figures)")


if __name__ == "__main__":
    main()
