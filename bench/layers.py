"""Cost of the paper's layers, as ratios measured in one process (README, "Performance").

    .venv/bin/python bench/layers.py [--repeats 7]

1. A conv + PReLU training step vs conv + ReLU and vs conv + keras.layers.PReLU, at
   model A's layer shapes (Table 3). Targets: PReLU/ReLU <= 1.03, ours/Keras's <= 1.0.
2. SpatialPyramidPooling forward + backward vs slicing each bin in Python. Target >= 3x.
3. RoIPooling of 2,000 rois vs a loop over the rois. Target >= 10x.

Variants are timed in turn, several times; each figure is the median of the ratios.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_prelu.layers import PReLU, RoIPooling, SpatialPyramidPooling  # noqa: E402
from keras_prelu.layers.roi_pooling import roi_bins, round_half_away  # noqa: E402
from keras_prelu.layers.spatial_pyramid_pooling import bin_bounds, window_max  # noqa: E402


def timed(fn, repeats, number):
    """Runs `fn` `number` times per repeat; returns per-call seconds, one per repeat."""
    fn()  # trace and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return np.array(times)


def interleaved(variants, repeats, number):
    """Times each variant in turn, `repeats` rounds, so drift hits all of them alike."""
    for fn in variants.values():
        fn()
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            times[name].append(timed(fn, 1, number)[0])
    return {name: np.array(t) for name, t in times.items()}


def ratio(times, a, b):
    return float(np.median(times[a] / times[b]))


# 1. PReLU ------------------------------------------------------------------------------

def conv_step(activation, size, channels, batch):
    """A compiled training step (SGD with momentum) of two 3x3 convs, each followed by
    `activation`, the way model A stacks them."""
    inputs = keras.Input((size, size, channels))
    x = inputs
    for _ in range(2):
        x = keras.layers.Conv2D(channels, 3, padding="same")(x)
        x = activation()(x)
    model = keras.Model(inputs, x)
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "mse")
    data = np.random.default_rng(0).standard_normal((batch, size, size, channels), "float32")
    target = np.zeros_like(data)
    return lambda: model.train_on_batch(data, target)


def bench_prelu(repeats):
    print("1. conv + activation training step (model A's 3x3 layers, batch 8)")
    rows = []
    for size, channels in ((56, 256), (28, 512), (14, 512)):
        times = interleaved(
            {
                "relu": conv_step(keras.layers.ReLU, size, channels, 8),
                "ours": conv_step(PReLU, size, channels, 8),
                "keras": conv_step(lambda: keras.layers.PReLU(shared_axes=[1, 2]),
                                   size, channels, 8),
            },
            repeats,
            number=2,
        )
        rows.append((ratio(times, "ours", "relu"), ratio(times, "ours", "keras")))
        print(f"   {size:3d}x{size:<3d} {channels:3d} ch: relu {np.median(times['relu']):.3f} s, "
              f"PReLU/ReLU {rows[-1][0]:.3f}, ours/keras.layers.PReLU {rows[-1][1]:.3f}")
    vs_relu, vs_keras = np.median(rows, axis=0)
    print(f"   median over shapes: PReLU/ReLU {vs_relu:.3f} (target <= 1.03), "
          f"ours/keras.layers.PReLU {vs_keras:.3f} (target <= 1.0)")


# 2. Spatial pyramid pooling -------------------------------------------------------------

def per_bin_spp(x, levels):
    """The common implementation: one slice and one max per bin, in Python."""
    height, width = x.shape[1], x.shape[2]
    pooled = []
    for n in levels:
        rows, cols = bin_bounds(height, n, "adaptive"), bin_bounds(width, n, "adaptive")
        bins = [tf.reduce_max(x[:, h0:h1, w0:w1, :], axis=(1, 2))
                for h0, h1 in zip(*rows, strict=True) for w0, w1 in zip(*cols, strict=True)]
        pooled.append(tf.reshape(tf.stack(bins, axis=2), (tf.shape(x)[0], -1)))
    return tf.concat(pooled, axis=1)


def forward_backward(fn, x):
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return tape.gradient(y, x)

    return lambda: step().numpy()


def bench_spp(repeats):
    print("2. spatial pyramid pooling {7,3,2,1}, forward + backward")
    levels = (7, 3, 2, 1)
    rng = np.random.default_rng(1)
    for shape in ((64, 14, 14, 512), (8, 36, 48, 512)):
        x = tf.constant(rng.standard_normal(shape, "float32"))
        layer = SpatialPyramidPooling(levels)
        np.testing.assert_array_equal(layer(x).numpy(), per_bin_spp(x, levels).numpy())
        times = interleaved(
            {"ours": forward_backward(layer, x),
             "per_bin": forward_backward(lambda t: per_bin_spp(t, levels), x)},
            repeats,
            number=3,
        )
        print(f"   {shape}: ours {np.median(times['ours']) * 1e3:.1f} ms, per-bin slicing "
              f"{np.median(times['per_bin']) * 1e3:.1f} ms: {ratio(times, 'per_bin', 'ours'):.1f}x "
              "faster (target >= 3x)")


# 3. RoI pooling -------------------------------------------------------------------------

def per_roi_loop(features, rois, pool_size, scale, vectorised_bins):
    """A loop over the rois (tf.map_fn). Each roi is pooled bin by bin, as public Keras
    RoI layers do, or, with `vectorised_bins`, all its bins at once with this package's
    gather trick (a much stronger baseline)."""
    height, width = features.shape[1], features.shape[2]

    def pool_one(roi):
        image = features[tf.cast(roi[0], tf.int32)]
        x1, y1, x2, y2 = tf.unstack(tf.cast(round_half_away(roi[1:] * scale), tf.int32))
        (h0, h1), (w0, w1) = (
            (edges[0] for edges in roi_bins(lo[None], hi[None], size, pool_size))
            for lo, hi, size in ((y1, y2, height), (x1, x2, width))
        )
        if vectorised_bins:
            return window_max(window_max(image, h0, h1, axis=0), w0, w1, axis=1)
        # An empty bin (a roi running off the map) is 0, as in Fast R-CNN.
        bins = [tf.where((h1[ph] > h0[ph]) & (w1[pw] > w0[pw]),
                         tf.reduce_max(image[h0[ph]:h1[ph], w0[pw]:w1[pw]], axis=(0, 1)), 0.0)
                for ph in range(pool_size) for pw in range(pool_size)]
        return tf.reshape(tf.stack(bins), (pool_size, pool_size, -1))

    return tf.map_fn(pool_one, rois, fn_output_signature=tf.float32)


VOC_IMAGE = ("/usr/share/doc/labelme-examples/examples/bbox_detection/data_dataset_voc/"
             "JPEGImages/2011_000003.jpg")


def selective_search_rois(count):
    """`count` selective-search proposals of a real VOC image (Debian's labelme-examples),
    resized as Fast R-CNN does (shorter side 600): the rois RoIPooling sees in practice."""
    import cv2

    image = cv2.imread(VOC_IMAGE)
    if image is None:
        raise SystemExit(f"{VOC_IMAGE} is missing: apt-get install labelme-examples")
    scale = 600 / min(image.shape[:2])
    image = cv2.resize(image, None, fx=scale, fy=scale)
    search = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    search.setBaseImage(image)
    search.switchToSelectiveSearchFast()
    x, y, w, h = search.process()[:count].T
    rois = np.stack([np.zeros_like(x), x, y, x + w - 1, y + h - 1], axis=1).astype("float32")
    return image.shape[:2], rois


def bench_roi(repeats):
    (height, width), rois = selective_search_rois(2000)
    shape = (1, round(height / 16), round(width / 16), 512)
    print(f"3. RoI pooling of 2,000 selective-search proposals of a VOC image on its conv5 map "
          f"{shape[1:]}")
    features = tf.constant(np.random.default_rng(2).standard_normal(shape, "float32"))
    rois = tf.constant(rois)
    upstream = tf.constant(np.random.default_rng(3).standard_normal((2000, 7, 7, 512), "float32"))
    layer = RoIPooling(7, 1 / 16)
    pools = {
        "ours": lambda: layer([features, rois]),
        "loop": lambda: per_roi_loop(features, rois, 7, 1 / 16, False),
        "loop_vectorised_bins": lambda: per_roi_loop(features, rois, 7, 1 / 16, True),
    }
    want = layer([features, rois]).numpy()
    variants = {}
    for name, pool in pools.items():
        np.testing.assert_array_equal(tf.function(pool)().numpy(), want)
        variants[name] = tf.function(lambda pool=pool: pool()[0, 0, 0, 0])
        variants[f"{name}_backward"] = forward_backward(
            lambda _, pool=pool: tf.reduce_sum(pool() * upstream), features)
    times = interleaved({name: (lambda f=f: np.asarray(f())) for name, f in variants.items()},
                        repeats, number=1)
    for suffix, what in (("", "forward"), ("_backward", "forward + backward")):
        print(f"   {what}: ours {np.median(times['ours' + suffix]) * 1e3:.0f} ms; a loop over "
              f"the rois (tf.map_fn), bin by bin {np.median(times['loop' + suffix]) * 1e3:.0f} ms: "
              f"{ratio(times, 'loop' + suffix, 'ours' + suffix):.1f}x faster (target >= 10x); "
              f"bins vectorised {np.median(times['loop_vectorised_bins' + suffix]) * 1e3:.0f} ms: "
              f"{ratio(times, 'loop_vectorised_bins' + suffix, 'ours' + suffix):.1f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"keras {keras.__version__}, tensorflow {tf.__version__}, {os.cpu_count()} CPU cores; "
          f"median of {args.repeats} rounds")
    bench_prelu(args.repeats)
    bench_spp(args.repeats)
    bench_roi(args.repeats)


if __name__ == "__main__":
    main()
