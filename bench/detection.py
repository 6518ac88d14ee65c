"""Cost of Fast R-CNN detection on the demo's backbone (README, "Detection").

    .venv/bin/python bench/detection.py [--images 20] [--repeats 5]

The detector of `make detect` (plain9 at a quarter width, SPP {6, 3, 2, 1}, fc 1024;
recipes/configs/voc_semi_synthetic.toml: images at a 144-px shorter side, at most 240)
on images of the semi-synthetic set (made in a temporary folder):

1. Test-time detection, images/s: with the proposals given (cached), and with selective
   search computed for each image first (what a new image costs).
2. RoI pooling's share of a training step (2 images x 64 rois): the step with
   `RoIPyramidPooling`, against the same step with the pooling's output replaced by a
   constant (trunk, fc layers, loss and update only).
3. The RoI head's pooling (all levels at once) on 2,000 proposals, against pooling each
   level with a loop over the rois: bench/layers.py's `per_roi_loop` (a compiled
   `tf.map_fn` over the rois, each bin its own max, as public Keras RoI layers do),
   forward and forward + backward; both give the same numbers (checked).

Figures are medians over the repeats. Weights do not change the costs: the detector is
freshly initialised.
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# bench/layers.py (this folder is on the path when a bench script runs)
from layers import forward_backward, interleaved, per_roi_loop, ratio  # noqa: E402

from keras_prelu import zoo  # noqa: E402
from keras_prelu.data import SEMI_SYNTHETIC_CLASSES, make_semi_synthetic_voc, voc_devkit  # noqa: E402
from keras_prelu.detection.data import detection_images, read_image  # noqa: E402
from keras_prelu.detection.fast_rcnn import fast_rcnn  # noqa: E402
from keras_prelu.detection.inference import detect_all  # noqa: E402
from keras_prelu.detection.proposals import selective_search  # noqa: E402

BACKBONE = {"input_shape": (None, None, 1), "classes": 10, "activation": "prelu",
            "width": 0.25, "stem": "small", "fc_units": 1024, "dropout": 0.0}
SCALE = (144, 240)


def detector():
    keras.utils.set_random_seed(0)
    return fast_rcnn(zoo.get("plain9", **BACKBONE), len(SEMI_SYNTHETIC_CLASSES),
                     pixel_mean=(110.0,), image_scale=SCALE, weight_decay=5e-4)


def test_images(root, count):
    return detection_images(voc_devkit(root, "test", class_names=SEMI_SYNTHETIC_CLASSES))[:count]


def bench_test_time(model, images, repeats):
    pixels = {image.image_id: read_image(image.path, 1) for image in images}
    colour = {image.image_id: read_image(image.path, 3).astype(np.uint8) for image in images}
    proposals = {key: selective_search(image) for key, image in colour.items()}
    detect_all(model, pixels, proposals)  # trace
    given, searched = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        detect_all(model, pixels, proposals)
        given.append(len(images) / (time.perf_counter() - start))
        start = time.perf_counter()
        detect_all(model, pixels, {key: selective_search(image) for key, image in colour.items()})
        searched.append(len(images) / (time.perf_counter() - start))
    count = np.mean([len(p) for p in proposals.values()])
    return float(np.median(given)), float(np.median(searched)), float(count)


def training_batch():
    rng = np.random.default_rng(0)
    height, width = 144, 192
    batch = {"images": tf.constant(rng.uniform(0, 255, (2, height, width, 1)), tf.float32),
             "image_shape": tf.constant([[height, width], [height, width - 12]], tf.int32)}
    corners = rng.uniform(0, [width - 40, height - 40], (2, 64, 2))
    batch["rois"] = tf.constant(np.concatenate([corners, corners + rng.uniform(20, 40, (2, 64, 2))],
                                               axis=-1), tf.float32)
    labels = {"labels": tf.constant(rng.integers(0, 11, (2, 64)), tf.int32),
              "targets": tf.constant(rng.normal(size=(2, 64, 4)), tf.float32)}
    return batch, labels


def bench_pooling_share(model, repeats):
    x, y = training_batch()
    model.compile(optimizer=keras.optimizers.SGD(1e-3, momentum=0.9))
    pooling = model.roi_pooling
    constant = tf.zeros((128, pooling.compute_output_shape(
        (model.trunk.outputs[0].shape, (None, 5)))[-1]))

    def step_fn():
        with tf.GradientTape() as tape:
            loss = model.compute_loss(y=y, y_pred=model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply(grads, model.trainable_variables)

    def without_pooling():
        # The trunk still runs (its output feeds nothing the loss sees, so add it in).
        with tf.GradientTape() as tape:
            maps = [model.trunk(x["images"][i:i + 1, :x["image_shape"][i, 0],
                                             :x["image_shape"][i, 1]], training=True)
                    for i in range(2)]
            features = model.features(constant + 0 * sum(tf.reduce_sum(m) for m in maps),
                                      training=True)
            scores = tf.reshape(model.cls_score(features), (2, 64, -1))
            deltas = tf.reshape(model.bbox_pred(features), (2, 64, -1))
            loss = model.compute_loss(y=y, y_pred={"scores": scores, "deltas": deltas})
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply(grads, model.trainable_variables)

    full, bare = tf.function(step_fn), tf.function(without_pooling)
    full(), bare()
    times = {"full": [], "bare": []}
    for _ in range(repeats):
        for name, fn in (("full", full), ("bare", bare)):
            start = time.perf_counter()
            for _ in range(3):
                fn()
            times[name].append((time.perf_counter() - start) / 3)
    step, rest = np.median(times["full"]), np.median(times["bare"])
    return float(step), float((step - rest) / step)


def bench_head(model, repeats):
    rng = np.random.default_rng(1)
    maps = model.trunk(tf.constant(rng.uniform(0, 255, (1, 144, 192, 1)), tf.float32))
    corners = rng.uniform(0, [150, 100], (2000, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(20, 90, (2000, 2))], axis=1)
    rois = tf.constant(np.concatenate([np.zeros((2000, 1)), boxes], axis=1), tf.float32)
    pooling = model.roi_pooling
    channels = maps.shape[-1]

    def looped(features):
        # Each level's (R, n, n, C) bins flattened channel-major, as the head lays them out.
        return tf.concat([
            tf.reshape(tf.transpose(per_roi_loop(features, rois, n, pooling.spatial_scale,
                                                 vectorised_bins=False), (0, 3, 1, 2)),
                       (2000, channels * n * n))
            for n in pooling.levels], axis=-1)

    def at_once(features):
        return pooling([features, rois])

    np.testing.assert_array_equal(tf.function(looped)(maps).numpy(),
                                  tf.function(at_once)(maps).numpy())
    upstream = tf.constant(rng.standard_normal((2000, pooling.compute_output_shape(
        (maps.shape, (None, 5)))[-1])), tf.float32)
    variants = {}
    for name, pool in (("at_once", at_once), ("looped", looped)):
        compiled = tf.function(pool)
        variants[name] = lambda f=compiled: f(maps).numpy()
        variants[name + "_backward"] = forward_backward(
            lambda x, pool=pool: tf.reduce_sum(pool(x) * upstream), maps)
    return interleaved(variants, repeats, number=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=20, help="test images timed")
    parser.add_argument("--repeats", type=int, default=5, help="repeats (medians reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = make_semi_synthetic_voc(os.path.join(folder, "set"), train_images=2,
                                       test_images=args.images, seed=0)
        images = test_images(root, args.images)
        model = detector()
        given, searched, proposals = bench_test_time(model, images, args.repeats)
    print(f"1. test-time detection ({proposals:.0f} proposals an image on average, "
          f"{SCALE[0]}/{SCALE[1]} px): {given:.1f} images/s with the proposals given, "
          f"{searched:.1f} images/s with selective search")
    step, share = bench_pooling_share(model, args.repeats)
    print(f"2. training step (2 images x 64 rois): {step * 1000:.0f} ms, of which RoI "
          f"pooling (forward and backward) {100 * share:.0f}%")
    times = bench_head(model, args.repeats)
    print(f"3. RoI head pooling of 2,000 proposals, levels {model.levels}:")
    for suffix, what in (("", "forward"), ("_backward", "forward + backward")):
        fast, slow = (np.median(times[name + suffix]) for name in ("at_once", "looped"))
        print(f"   {what}: {fast * 1000:.0f} ms at once vs {slow * 1000:.0f} ms with a loop "
              f"over the rois ({ratio(times, 'looped' + suffix, 'at_once' + suffix):.1f}x)")


if __name__ == "__main__":
    main()
