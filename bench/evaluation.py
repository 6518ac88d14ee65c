"""Dense multi-scale testing (Sec. 3, "Testing") against running the network on every window's
image crop (the naive way), on the same model and image, as ratios measured in one process.

    .venv/bin/python bench/evaluation.py [--width 0.25] [--scales 256 320] [--repeats 3]

Model A (Table 3) at width 1/4 (1.27e9 multiply-adds per 224 crop; CPU-sized), random weights;
one photograph (scikit-image's "chelsea", 451x300) resized to each scale. Both ways score
every 14x14 window of the conv map of the image and of its flip, at each scale, and average:
  (a) dense: `Scorer(model, "dense")`: the conv layers once per image and flip, every window
      pooled at once, the fc layers on the pooled windows;
  (b) naive: each window's 224x224 crop of the image (offsets in steps of the map's stride,
      16 px) through the whole network, in batches of 32.
Variants are timed in turn, `repeats` rounds; the figure is the median of the ratios
(b)/(a). Target: >= 5x.

Agreement: the two need not agree where a crop's border differs from the whole image's
(zero padding of the "same" convs), so they are checked where they must: (1) every window's
pooled vector equals `SpatialPyramidPooling` of that window of the conv map and its scores
equal the fc layers on it; (2) on a 224x224 image (one window), dense testing equals the
network on the image and its flip. The gap between (a) and (b) elsewhere is printed too.
"""

import argparse
import os
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_prelu.zoo as zoo  # noqa: E402
from keras_prelu.evaluation import Scorer, window_features  # noqa: E402
from keras_prelu.zoo import split  # noqa: E402

CROP, STRIDE, WINDOW = 224, 16, 14  # model A: a 224 crop gives a 14x14 map (stride 16)
BATCH = 32


def resized(image, scale):
    """The image with shorter side `scale` (bilinear, as the evaluation pipeline)."""
    height, width = image.shape[:2]
    size = [round(height * scale / min(height, width)), round(width * scale / min(height, width))]
    return tf.image.resize(image.astype(np.float32), size).numpy()


def offsets(side):
    """Image offsets of the crops of the map's windows along a side of `side` pixels."""
    return range(0, side - CROP + 1, STRIDE)


def naive_scores(model, images):
    """Every window's image crop, of each image and its flip, through the whole network."""
    per_scale = []
    for image in images:
        crops = np.stack([
            view[top : top + CROP, left : left + CROP]
            for view in (image, image[:, ::-1])
            for top in offsets(image.shape[0])
            for left in offsets(image.shape[1])
        ])
        scores = [model(crops[i : i + BATCH], training=False) for i in range(0, len(crops), BATCH)]
        per_scale.append(np.concatenate(scores).mean(axis=0))
    return np.mean(per_scale, axis=0)


def check_agreement(model, scorer, rng):
    """Exact where dense and naive must agree; returns the largest differences."""
    parts = split(model)
    maps = np.asarray(parts.trunk(rng.uniform(-100, 100, (1, 256, 320, 3)).astype("float32")))
    features = np.asarray(window_features(maps, parts.spp.levels, WINDOW))
    pooled_gap = score_gap = 0.0
    for i, j in ((0, 0), (features.shape[1] - 1, features.shape[2] - 1), (1, 3)):
        pooled = np.asarray(parts.spp(maps[:, i : i + WINDOW, j : j + WINDOW]))
        pooled_gap = max(pooled_gap, np.abs(features[:, i, j] - pooled).max())
        score_gap = max(score_gap, np.abs(
            np.asarray(parts.head(features[:, i, j])) - np.asarray(parts.head(pooled))).max())
    image = rng.uniform(-100, 100, (1, CROP, CROP, 3)).astype("float32")
    whole = np.asarray(model(np.concatenate([image, image[:, :, ::-1]]))).mean(axis=0)
    single_gap = np.abs(scorer(image)[0] - whole).max()
    return pooled_gap, score_gap, single_gap


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=0.25, help="model A's width (0.25)")
    parser.add_argument("--scales", type=int, nargs="+", default=[256, 320])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (default 3)")
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    import skimage.data

    keras.utils.set_random_seed(0)
    model = zoo.model_a(activation="prelu", width=args.width)
    scorer = Scorer(model, "dense", crop_size=CROP)
    photo = skimage.data.chelsea()
    images = [resized(photo, scale) - 115.0 for scale in args.scales]
    cost = zoo.complexity(model).macs
    print(f"model A, width {args.width}: {cost / 1e9:.2f}e9 multiply-adds per 224 crop; "
          f"{len(os.sched_getaffinity(0))} cores; keras {keras.__version__}, tensorflow "
          f"{tf.__version__}; image {photo.shape[1]}x{photo.shape[0]} at scales {args.scales}")

    variants = {
        "dense": lambda: np.mean([scorer(image[None])[0] for image in images], axis=0),
        "naive": lambda: naive_scores(model, images),
    }
    results = {name: fn() for name, fn in variants.items()}  # warm-up
    times = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    crops = sum(2 * len(offsets(image.shape[0])) * len(offsets(image.shape[1])) for image in images)
    ratios = np.array(times["naive"]) / np.array(times["dense"])
    for name in variants:
        print(f"  {name}: " + ", ".join(f"{t:.2f}" for t in times[name]) + " s")
    print(f"windows (with flips): {crops}; naive / dense time, median of {args.repeats}: "
          f"{np.median(ratios):.1f}x (target >= 5x)")

    pooled_gap, score_gap, single_gap = check_agreement(model, scorer, np.random.default_rng(0))
    print(f"agreement where required: pooled windows vs SPP of the map crop, max |diff| "
          f"{pooled_gap:.1e} (exact: 0); their fc scores {score_gap:.1e}; dense vs the network "
          f"on a 224x224 image and its flip {single_gap:.1e}")
    gap = np.abs(results["dense"] - results["naive"])
    print(f"elsewhere (crop borders differ): max |dense - naive| probability {gap.max():.1e}, "
          f"same top-1 class: {results['dense'].argmax() == results['naive'].argmax()}")


if __name__ == "__main__":
    main()
