"""Throughput of the paper's training input pipeline against plain JPEG decoding.

Writes a few hundred ImageNet-sized JPEGs (bundled photographs resized to 500x375 ... 1024x768)
to a temporary folder, then times, over the same files with the same tf.data parallelism
(AUTOTUNE), each timing being several passes over the files (steady state):
  (a) make_image_dataset(mode="train"): read, decode-and-crop, scale jitter, flip, colour
      jitter, mean subtraction, batching; also (a') the same with a seed (deterministic);
  (b) tf.io.read_file + tf.io.decode_jpeg of every whole image.
Prints images/s per core for each repetition and the median over repetitions of the ratio
(a)/(b); the target is >= 0.9 (augmenting costs no more than decoding). Images per CPU-second
of the process is the measure of cost per core; images per wall-second divided by the number
of cores is also shown but drops whenever other processes share the cores.

Usage: .venv/bin/python bench/pipeline.py [--images 320] [--repeats 7]
"""

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from keras_prelu.data import IMAGENET_RGB_MEAN, image_folder, make_image_dataset

# (width, height): ImageNet's typical 500x375 / 500x333 and some larger photos.
SIZES = [(500, 375), (500, 333), (375, 500), (640, 480), (800, 600), (1024, 768)]
BATCH = 32
# Passes over the files per timing: steady-state throughput, as in an ImageNet epoch of 1.28M
# images, rather than the start-up of each tf.data iterator.
PASSES = 6


def photographs() -> dict[str, np.ndarray]:
    import skimage.data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    return {
        "astronaut": skimage.data.astronaut(),
        "chelsea": skimage.data.chelsea(),
        "coffee": skimage.data.coffee(),
        "rocket": skimage.data.rocket(),
        "china": china,
        "flower": flower,
    }


def write_jpegs(root: Path, count: int) -> None:
    photos = photographs()
    for i in range(count):
        name = list(photos)[i % len(photos)]
        size = SIZES[(i // len(photos)) % len(SIZES)]
        (root / name).mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(photos[name]).resize(size, Image.BICUBIC)
        image.save(root / name / f"{i:05d}.jpg", quality=90)


def count_pipeline(ds: tf.data.Dataset) -> int:
    return int(ds.repeat(PASSES).reduce(0, lambda n, batch: n + tf.shape(batch[0])[0]))


def count_decode(paths: np.ndarray) -> int:
    ds = tf.data.Dataset.from_tensor_slices(paths).map(
        lambda path: tf.io.decode_jpeg(tf.io.read_file(path), channels=3),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=False,
    )
    return int(ds.prefetch(tf.data.AUTOTUNE).repeat(PASSES).reduce(0, lambda n, _: n + 1))


def rates(fn, cores: int) -> tuple[float, float]:
    """Images per CPU-second of this process, and per wall-second divided by the cores."""
    cpu, wall = time.process_time(), time.perf_counter()
    n = fn()
    return n / (time.process_time() - cpu), n / (time.perf_counter() - wall) / cores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=320, help="number of JPEGs (default 320)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repetitions (default 7)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print("command:", shlex.join([sys.executable, *sys.argv]))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "images"
        write_jpegs(root, args.images)
        source = image_folder(root, cache_dir=Path(tmp) / "cache")
        mean = np.array(IMAGENET_RGB_MEAN, np.float32)
        variants = {
            "(a) train pipeline": lambda: count_pipeline(
                make_image_dataset(source, BATCH, mode="train", mean=mean)
            ),
            "(a') train pipeline, seed=0 (deterministic)": lambda: count_pipeline(
                make_image_dataset(source, BATCH, mode="train", mean=mean, seed=0)
            ),
            "(b) plain decode_jpeg": lambda: count_decode(source.paths),
        }
        pixels = [Image.open(p).size for p in source.paths]
        print(
            f"{source.num_examples} JPEGs, mean size {np.mean(pixels, axis=0).round()} (w, h); "
            f"batch {BATCH}; {PASSES} passes per timing; {cores} cores; TensorFlow {tf.__version__}"
        )
        for fn in variants.values():  # warm-up: page cache, tracing
            fn()
        results = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, fn in variants.items():
                results[name].append(rates(fn, cores))

    print(f"load average during the run: {os.getloadavg()[0]:.1f}")
    for metric, column in (("CPU time (images per CPU-second)", 0), ("wall clock / cores", 1)):
        print(f"images/s per core by {metric}, median [repetitions]:")
        plain = [r[column] for r in results["(b) plain decode_jpeg"]]
        for name, values in results.items():
            values = [r[column] for r in values]
            shown = " ".join(f"{v:.0f}" for v in values)
            print(f"  {name:44s} {statistics.median(values):6.1f}  [{shown}]")
        for name in list(variants)[:2]:
            ratios = [r[column] / b for r, b in zip(results[name], plain, strict=True)]
            print(f"  median ratio {name[:4]}/(b): {statistics.median(ratios):.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()
