"""Where the time of `make demo`'s training goes on this machine, and what would shorten it.

    .venv/bin/python bench/demo_profile.py [--rounds 5] [--threads]

The demo (recipes/configs/fashion_mnist.toml) trains plain9 at 3/8 width, fc 256, with
channel-wise PReLU on Fashion-MNIST, batch 128, 429 steps an epoch. Everything is measured
in this process, the variants of a section timed in turn for `rounds` rounds, so a shared machine's
load falls on all of them alike; figures are medians over rounds of each variant's time
and of its ratio to the section's first row. A training step is timed inside `fit`, from
the end of the warm-up batches to the end of the last (a callback notes the times): the
demo's loop (`fit_epochs`: its pipeline, metrics and callbacks) unless a row says
otherwise. "CPU" is the process's CPU-seconds per step (both cores busy: 2x the wall time).

1. The demo's step taken apart: each row removes one more thing (the progress bar; the
   loop's callbacks; the tf.data pipeline, replaced by batches held in memory; the two
   top-k metrics), down to the network's bare step; then the bare step with ReLU, and
   `train_on_batch` with the metrics (the call users time).
2. The bare step by layer: forward and backward of each layer alone on its real input
   (batch 128), with GFLOP/s for convs and fc layers; the rest of the bare step is the
   loss, the optimizer's update and Keras's step. (In bfloat16 the layers timed alone add
   up to more than the whole step, and the rest comes out negative: alone, they cost more.)
3. Per epoch: the validation pass and checkpoint saves, the resulting epoch, and the
   loop's fixed cost per run (set-up, first batches, epoch end).
4. The input pipeline alone, batches as fast as they come: the demo's crop-and-flip of
   whole batches, and the same made per image by a parallel map (`per_example_dataset`,
   the demo's pipeline until 2026-12).
5. Candidates: time per epoch (steps x step + validation) against the demo's, in the
   demo's loop: the demo's earlier networks, larger batches, XLA, mixed precision on and
   off (the demo's "native" is on where the CPU has AVX512-BF16 or AMX, off elsewhere,
   where bfloat16 is emulated), the per-example pipeline, other fc, pyramid and width
   settings, and another zoo network.
6. This machine's 3x3-conv throughput (bench/training.py's measure), for context.
7. With --threads (about 3 more minutes): the demo's step and the bare step in child
   processes with other TensorFlow intra-/inter-op thread counts (fixed at start-up).
"""

import argparse
import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from training import CONV_SHAPES, DEMO_CONFIG, conv_step  # noqa: E402  (bench/training.py)

from keras_prelu import data as kp_data  # noqa: E402
from keras_prelu import zoo  # noqa: E402
from keras_prelu.data import catalog  # noqa: E402
from keras_prelu.data.order import epoch_order, example_seed  # noqa: E402
from keras_prelu.metrics import TopKError  # noqa: E402
from keras_prelu.training import (  # noqa: E402
    TrainConfig,
    build_model,
    fit_epochs,
    inputs,
    prepare_run,
)
from keras_prelu.training.checkpoint import TrainingCheckpoint  # noqa: E402
from keras_prelu.training.precision import dtype_policy  # noqa: E402

WARMUP = 3  # batches before the timed stretch of a fit call
IMAGES = 1920  # images per timed stretch (15 steps at batch 128)
PIPELINE_BATCHES = 100  # batches drained per timing of a pipeline alone
THREADS = ((0, 0), (1, 1), (2, 1), (1, 2))  # (intra, inter); 0 is TensorFlow's default


class StepClock(keras.callbacks.Callback):
    """Notes the wall and CPU time at the end of every training batch."""

    def __init__(self):
        super().__init__()
        self.wall, self.cpu = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())


class Variant:
    """A model compiled as `train` compiles the demo's, with `overrides`, and its data.

    Args:
        overrides: TrainConfig fields that differ from the demo's config.
        metrics: Compile with the demo's two top-k error metrics.
        per_example: Train on `per_example_dataset` instead of the demo's pipeline.
        datasets: Cache of `inputs.load` results by batch size.
    """

    def __init__(self, overrides=(), *, metrics=True, per_example=False, datasets=None):
        self.config = TrainConfig.load(DEMO_CONFIG, **dict(overrides))
        batch = self.config.global_batch_size
        datasets = {} if datasets is None else datasets
        if batch not in datasets:
            datasets[batch] = inputs.load(self.config, catalog.get(self.config.dataset),
                                          self.config.seed)
        self.data = datasets[batch]
        keras.utils.set_random_seed(self.config.seed)
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(dtype_policy(self.config.mixed_precision))
        try:
            self.model = build_model(self.config, self.data)
        finally:
            keras.config.set_dtype_policy(previous)
        self.model.compile(
            optimizer=keras.optimizers.SGD(self.config.learning_rates[0],
                                           momentum=self.config.momentum),
            loss="sparse_categorical_crossentropy",
            metrics=[TopKError(1), TopKError(5)] if metrics else None,
            jit_compile=self.config.xla,
        )
        self.model.optimizer.build(self.model.trainable_variables)
        self.per_example = per_example
        self.steps_per_epoch = self.data.num_train // batch
        self.calls = 0  # each timed call trains on the next epoch's batches

    def epoch_data(self, epoch, input_context=None):
        epoch += self.calls
        if self.per_example:
            return per_example_dataset(self.config, epoch)
        return self.data.train(epoch, input_context)

    def held_batches(self, count):
        """`count` batches of the training pipeline as one in-memory dataset, repeated."""
        batches = list(self.data.train(0).take(count))
        images = tf.stack([x for x, _ in batches])
        labels = tf.stack([y for _, y in batches])
        return tf.data.Dataset.from_tensor_slices((images, labels)).repeat()

    def step(self, dataset=None, *, verbose=1):
        """(wall, CPU) seconds per training step, and the fixed wall seconds of the call.

        Without `dataset`: the demo's loop, `fit_epochs` with its callbacks, for one epoch
        of a few steps in a fresh run directory (periodic checkpoints are timed apart, in
        section 3). With `dataset`: a bare `fit` on it, no callbacks, at learning rate 1e-3
        (the cost of a step does not depend on it, and held batches seen over and over at
        1e-2 can make the weights diverge).
        """
        self.calls += 1
        steps = max(8, IMAGES // self.config.global_batch_size)
        clock = StepClock()
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            if dataset is None:
                output_dir = tempfile.mkdtemp(prefix="demo_profile-")
                settings = self.config.replace(
                    output_dir=output_dir, epochs=1, switch_epochs=None,
                    learning_rates=self.config.learning_rates[:1], checkpoint_every=10**9,
                    verbose=verbose)
                run = prepare_run(settings, "classification", default_dir=output_dir)
                fit_epochs(run, self.model, self.epoch_data, steps_per_epoch=WARMUP + steps,
                           callbacks=[clock])
                shutil.rmtree(output_dir)
            else:
                self.model.optimizer.learning_rate = 1e-3
                self.model.fit(dataset, epochs=1, steps_per_epoch=WARMUP + steps,
                               callbacks=[clock], verbose=0)
        total = time.perf_counter() - start
        wall = (clock.wall[-1] - clock.wall[WARMUP - 1]) / steps
        cpu = (clock.cpu[-1] - clock.cpu[WARMUP - 1]) / steps
        return wall, cpu, total - (WARMUP + steps) * wall

    def validation_seconds(self):
        start = time.perf_counter()
        self.model.evaluate(self.data.validation, verbose=0)
        return time.perf_counter() - start


def per_example_dataset(config, epoch):
    """The demo's training batches with the crop and flip made per image, by a parallel map.

    The same order (`epoch_order`) and augmentation (`pad` zeros, a random crop back to
    28x28, a random flip) as the demo's pipeline, which crops and flips whole batches
    (`augment.pad_crop_flip`): the way the demo did it until 2026-12, for comparison.
    """
    x, y = _training_arrays(config)
    mean = tf.constant(kp_data.mean_image(x))
    images, labels = tf.constant(x), tf.constant(y.astype(np.int32))
    pad = config.pad

    def augment(position, index):
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(
            example_seed(config.seed, epoch, position), 2))
        padded = tf.pad(tf.gather(images, index), [[pad, pad], [pad, pad], [0, 0]])
        crop = tf.image.stateless_random_crop(padded, x.shape[1:], crop_seed)
        crop = tf.image.stateless_random_flip_left_right(crop, flip_seed)
        return tf.cast(crop, tf.float32) - mean, tf.gather(labels, index)

    order = epoch_order(len(y), shuffle=True, seed=config.seed, epoch=epoch)
    return (order.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
            .batch(config.global_batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))


_ARRAYS = {}


def _training_arrays(config):
    """The demo's 55,000 training images and labels (its validation split held out)."""
    if "train" not in _ARRAYS:
        (x, y), _ = kp_data.load_fashion_mnist(config.data_dir)
        held_out = np.random.default_rng(inputs.VALIDATION_SPLIT_SEED).permutation(len(x))
        keep = held_out[config.validation_size:]
        _ARRAYS["train"] = x[keep], y[keep]
    return _ARRAYS["train"]


def rounds_of(variants, rounds):
    """Calls every variant once to warm up, then `rounds` times in turn; the results."""
    for fn in variants.values():
        fn()
    results = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            results[name].append(fn())
    return {name: np.array(values, dtype=float) for name, values in results.items()}


def ms(seconds):
    return f"{1000 * seconds:8.1f}"


DEMO_STEP = "demo step (pipeline, metrics, callbacks, progress bar)"
BARE_STEP = "- metrics = the network's bare step"


def section_step(variants_, rounds):
    demo, bare, relu = variants_["demo"], variants_["bare"], variants_["relu"]
    held = demo.held_batches(40)
    variants = {
        DEMO_STEP: demo.step,
        "- progress bar": lambda: demo.step(verbose=0),
        "- callbacks": lambda: demo.step(demo.epoch_data(1)),
        "- pipeline (batches held in memory)": lambda: demo.step(held),
        BARE_STEP: lambda: bare.step(held),
        "bare step with ReLU": lambda: relu.step(held),
    }
    batches = [next(iter(held.skip(i))) for i in range(4)]

    def train_on_batch():
        start, cpu = time.perf_counter(), time.process_time()
        for x, y in batches:
            demo.model.train_on_batch(x, y)
        return ((time.perf_counter() - start) / 4, (time.process_time() - cpu) / 4, 0.0)

    variants["train_on_batch, with metrics"] = train_on_batch
    results = rounds_of(variants, rounds)
    first = results[next(iter(results))]
    print("\n1. The demo's training step, taken apart (each row removes one more thing)")
    print(f"{'':58s} {'ms/step':>8s} {'CPU ms':>8s} {'/ demo':>7s}")
    for name, values in results.items():
        print(f"{name:58s} {ms(np.median(values[:, 0]))} {ms(np.median(values[:, 1]))} "
              f"{np.median(values[:, 0] / first[:, 0]):7.3f}")
    return {name: np.median(values, axis=0) for name, values in results.items()}


def _layer_fn(layer, inputs_):
    """Forward + backward (input and weight gradients) of `layer` alone, as a tf.function."""
    upstream = tf.random.normal(tuple(layer(inputs_).shape))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(inputs_)
            loss = tf.reduce_sum(tf.cast(layer(inputs_, training=True), tf.float32) * upstream)
        grads = tape.gradient(loss, [inputs_, *layer.trainable_variables])
        # float32 sums: under a mixed policy the input gradients are half-precision.
        return tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) for g in grads])

    return lambda: step().numpy()


def section_layers(variant, rounds, bare_step):
    model = variant.model
    x, _ = next(iter(variant.data.train(0)))
    costs = {cost.name: cost.macs for cost in zoo.complexity(model, (28, 28, 1)).layers}
    fns, activations = {}, x
    for layer in model.layers[1:]:
        fns[layer.name] = _layer_fn(layer, activations)
        activations = layer(activations)
    repeats = 5

    def timed(fn):
        def call():
            fn()
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            return (time.perf_counter() - start) / repeats
        return call

    results = rounds_of({name: timed(fn) for name, fn in fns.items()}, rounds)
    seconds = {name: float(np.median(values)) for name, values in results.items()}
    batch = variant.config.global_batch_size
    print(f"\n2. The bare step by layer: forward + backward of each layer alone, batch {batch}")
    print(f"{'layer':20s} {'ms':>8s} {'share':>6s} {'GFLOP/s':>8s}")
    groups = {}
    for layer in model.layers[1:]:
        kind = type(layer).__name__
        key = layer.name if layer.name in costs else (
            "PReLU (all 8)" if kind == "PReLU" else "pools, SPP, flatten")
        groups[key] = groups.get(key, 0.0) + seconds[layer.name]
    for key, value in groups.items():
        rate = (f"{6 * costs[key] * batch / value / 1e9:8.1f}" if key in costs else "")
        print(f"{key:20s} {ms(value)} {value / bare_step:6.1%} {rate}")
    rest = bare_step - sum(groups.values())
    print(f"{'loss, SGD update, Keras step (the rest)':20s} {ms(rest)} {rest / bare_step:6.1%}")
    return groups


def section_epoch(variant, rounds, step_results):
    checkpoint = TrainingCheckpoint(tempfile.mkdtemp(prefix="demo_profile-"), variant.model,
                                    [], tf.distribute.get_strategy())
    x, y = next(iter(variant.data.train(0)))

    def save():
        variant.model.train_on_batch(x, y)  # a new step, so the save is not skipped
        start = time.perf_counter()
        checkpoint.save()
        return time.perf_counter() - start

    results = rounds_of({"validation": variant.validation_seconds, "save": save}, rounds)
    validation, save_seconds = (float(np.median(results[name])) for name in results)
    step, _, fixed = step_results[DEMO_STEP]
    steps = variant.steps_per_epoch
    saves = steps // variant.config.checkpoint_every + 1
    epoch = steps * step + validation + saves * save_seconds
    print("\n3. Per epoch")
    print(f"  {steps} steps x {1000 * step:.1f} ms = {steps * step:.1f} s; validation pass "
          f"(5,000 images) {validation:.2f} s; {saves} checkpoint saves "
          f"{saves * save_seconds:.2f} s")
    print(f"  the demo's epoch here: {epoch:.1f} s; "
          f"fit_epochs' set-up, first batches and epoch end: {fixed:.2f} s per run")
    return epoch


def section_pipeline(variant, rounds):
    def drain(make):
        def call():
            dataset = make()
            start, cpu = time.perf_counter(), time.process_time()
            count = sum(1 for _ in dataset.take(PIPELINE_BATCHES))
            return (time.perf_counter() - start) / count, (time.process_time() - cpu) / count
        return call

    variants = {
        "per-batch crop and flip (the demo's)": drain(lambda: variant.data.train(0)),
        "per-example map": drain(lambda: per_example_dataset(variant.config, 0)),
    }
    results = rounds_of(variants, rounds)
    first = results[next(iter(results))]
    print(f"\n4. The input pipeline alone, {PIPELINE_BATCHES} batches of 128")
    print(f"{'':38s} {'ms/batch':>8s} {'CPU ms':>8s} {'CPU / demo':>10s}")
    for name, values in results.items():
        print(f"{name:38s} {ms(np.median(values[:, 0]))} {ms(np.median(values[:, 1]))} "
              f"{np.median(values[:, 1] / first[:, 1]):10.3f}")


CANDIDATES = {
    "demo": {},
    "1/4 width, fc 1024 (the demo until 2026-12-02)":
        {"overrides": {"width": 0.25, "fc_units": 1024}},
    "no pool1 (stem small, 1/4 width, fc 1024: until 2026-12-01)":
        {"overrides": {"stem": "small", "width": 0.25, "fc_units": 1024}},
    "batch 256": {"overrides": {"global_batch_size": 256}},
    "batch 512": {"overrides": {"global_batch_size": 512}},
    "XLA": {"overrides": {"xla": True}},
    "mixed precision on (mixed_bfloat16)": {"overrides": {"mixed_precision": "on"}},
    "mixed precision off (float32)": {"overrides": {"mixed_precision": "off"}},
    "per-example augmentation (until 2026-12-02)": {"per_example": True},
    "fc 512": {"overrides": {"fc_units": 512}},
    "small14": {"overrides": {"model": "small14"}},
    "spp 4-2-1": {"overrides": {"spp_levels": (4, 2, 1)}},
    "width 1/2": {"overrides": {"width": 0.5}},
}


def section_candidates(rounds, datasets):
    runs = {name: Variant(**options, datasets=datasets)
            for name, options in CANDIDATES.items()}
    results = rounds_of({name: run.step for name, run in runs.items()}, rounds)
    print("\n5. Candidates: time per epoch (steps x step + validation pass), demo's callbacks")
    print(f"{'':60s} {'ms/step':>8s} {'steps':>6s} {'s/epoch':>8s} {'/ demo':>7s} "
          f"{'MMAC/img':>9s}")
    validation = {name: run.validation_seconds() for name, run in runs.items()}
    epochs = {name: results[name][:, 0] * run.steps_per_epoch + validation[name]
              for name, run in runs.items()}
    for name, run in runs.items():
        macs = zoo.complexity(run.model, (28, 28, 1)).macs / 1e6
        print(f"{name:60s} {ms(np.median(results[name][:, 0]))} {run.steps_per_epoch:6d} "
              f"{np.median(epochs[name]):8.1f} {np.median(epochs[name] / epochs['demo']):7.3f} "
              f"{macs:9.1f}")


def section_conv(rounds):
    fns = {f"{s}x{s}x{c}": conv_step(s, c, 32) for s, c in CONV_SHAPES}
    for fn, _ in fns.values():
        fn()

    def rate(fn, flops):
        start = time.perf_counter()
        fn()
        return flops / (time.perf_counter() - start)

    results = rounds_of({name: (lambda f=f, n=n: rate(f, n)) for name, (f, n) in fns.items()},
                        rounds)
    peak = np.max(np.stack(list(results.values())), axis=0)
    print(f"\n6. This machine's 3x3-conv throughput (bench/training.py, batch 32): "
          f"{np.median(peak) / 1e9:.0f} GFLOP/s")


def child(intra, inter, rounds):
    """Section 7's measurement in a process with these thread counts; prints JSON."""
    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    demo, bare = Variant(), Variant(metrics=False)
    held = demo.held_batches(40)
    results = rounds_of({"demo": demo.step, "bare": lambda: bare.step(held)}, rounds)
    print(json.dumps({name: float(np.median(values[:, 0])) for name, values in results.items()}))


def section_threads(rounds):
    print("\n7. TensorFlow thread counts (child processes, one after another)")
    print(f"{'intra, inter':14s} {'demo ms':>8s} {'bare ms':>8s}")
    for intra, inter in (*THREADS, THREADS[0]):
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(intra), str(inter), "--rounds",
             str(rounds)], capture_output=True, text=True, check=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        label = "default" if intra == inter == 0 else f"{intra}, {inter}"
        print(f"{label:14s} {ms(result['demo'])} {ms(result['bare'])}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--threads", action="store_true", help="also section 7")
    parser.add_argument("--child", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.rounds)
        return
    start = time.perf_counter()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print(f"{len(os.sched_getaffinity(0))} cores, load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}; keras {keras.__version__}, "
          f"tensorflow {tf.__version__}")
    datasets = {}
    variants = {"demo": Variant(datasets=datasets),
                "bare": Variant(metrics=False, datasets=datasets),
                "relu": Variant({"activation": "relu"}, metrics=False, datasets=datasets)}
    steps = section_step(variants, args.rounds)
    section_layers(variants["bare"], args.rounds, steps[BARE_STEP][0])
    section_epoch(variants["demo"], args.rounds, steps)
    section_pipeline(variants["demo"], args.rounds)
    section_candidates(args.rounds, datasets)
    section_conv(args.rounds)
    if args.threads:
        section_threads(args.rounds)
    print(f"\n{time.perf_counter() - start:.0f} s; load average now "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
