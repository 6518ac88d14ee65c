"""The Fast R-CNN task model: RoI pyramid pooling, the classifier's layers and weights reused,
the multi-task loss, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_prelu import zoo
from keras_prelu.detection.fast_rcnn import (
    FastRCNN,
    RoIPyramidPooling,
    fast_rcnn,
    trunk_stride,
)
from keras_prelu.layers import RoIPooling, SpatialPyramidPooling
from keras_prelu.weight_decay import KernelDecay

RNG = np.random.default_rng(3)
# A plain9 at a small width: stride 2, SPP {6, 3, 2, 1} (the demo's network, smaller).
TINY = {"input_shape": (None, None, 1), "classes": 10, "activation": "prelu", "width": 0.125,
        "stem": "small", "fc_units": 16, "dropout": 0.0}


def random_rois(count, height, width, batch=1):
    """Rois of every kind in an image of height x width pixels: tiny, large, at the edges."""
    x1 = RNG.uniform(-2, width - 1, count)
    y1 = RNG.uniform(-2, height - 1, count)
    x2 = x1 + RNG.uniform(0, width, count)
    y2 = y1 + RNG.uniform(0, height, count)
    rois = np.stack([RNG.integers(0, batch, count), x1, y1, x2, y2], axis=1).astype("float32")
    rois[0, 1:] = [0, 0, width - 1, height - 1]  # the whole image
    rois[1, 1:] = [5, 5, 5, 5]  # one pixel
    rois[2, 1:] = [width - 3, height - 3, width + 8, height + 8]  # past the corner
    return rois


def reference_pyramid(features, rois, levels, scale):
    """Fast R-CNN's roi_pooling_layer (Caffe's forward), loop by loop, per level; each
    level's (C, n, n) flattened in C order, as SPP-net's blobs are."""
    _, height, width, channels = features.shape
    out = []
    for roi in rois:
        b = int(roi[0])
        x1, y1, x2, y2 = (int(np.sign(v) * np.floor(abs(v) + 0.5))
                          for v in roi[1:] * np.float32(scale))
        roi_h, roi_w = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        row = []
        for n in levels:
            bin_h, bin_w = np.float32(roi_h) / np.float32(n), np.float32(roi_w) / np.float32(n)
            pooled = np.zeros((channels, n, n), np.float32)
            for p in range(n):
                for q in range(n):
                    h0 = min(max(int(np.floor(p * bin_h)) + y1, 0), height)
                    h1 = min(max(int(np.ceil((p + 1) * bin_h)) + y1, 0), height)
                    w0 = min(max(int(np.floor(q * bin_w)) + x1, 0), width)
                    w1 = min(max(int(np.ceil((q + 1) * bin_w)) + x1, 0), width)
                    if h1 > h0 and w1 > w0:
                        pooled[:, p, q] = features[b, h0:h1, w0:w1].max(axis=(0, 1))
            row.append(pooled.ravel())
        out.append(np.concatenate(row))
    return np.array(out)


@pytest.mark.parametrize("levels", [(6, 3, 2, 1), (7,)])
def test_each_level_is_fast_rcnns_roi_pooling_in_spps_layout(levels):
    features = RNG.normal(size=(2, 23, 31, 5)).astype("float32")
    rois = random_rois(40, 46, 62, batch=2)
    got = RoIPyramidPooling(levels, 0.5)([features, rois]).numpy()
    np.testing.assert_array_equal(got, reference_pyramid(features, rois, levels, 0.5))
    # ... and the layer RoIPooling at each level, transposed to channel-major.
    offset = 0
    for n in levels:
        pooled = RoIPooling(n, 0.5, data_format="channels_last")([features, rois]).numpy()
        width = 5 * n * n
        np.testing.assert_array_equal(got[:, offset:offset + width],
                                      pooled.transpose(0, 3, 1, 2).reshape(len(rois), -1))
        offset += width


@pytest.mark.parametrize("size", [(6, 6), (7, 11), (14, 9), (31, 40)])
def test_a_roi_covering_the_whole_map_pools_to_what_spp_gives(size):
    height, width = size
    features = RNG.normal(size=(1, height, width, 4)).astype("float32")
    stride = 4
    whole = np.array([[0, 0, 0, (width - 1) * stride, (height - 1) * stride]], "float32")
    levels = (6, 3, 2, 1)
    got = RoIPyramidPooling(levels, 1 / stride)([features, whole]).numpy()
    want = SpatialPyramidPooling(levels, data_format="channels_last")(features).numpy()
    np.testing.assert_array_equal(got, want)


def test_gradients_reach_the_features_as_through_stacked_roi_pooling():
    features = tf.constant(RNG.normal(size=(1, 17, 21, 3)).astype("float32"))
    rois = random_rois(25, 34, 42)
    upstream = RNG.normal(size=(25, 3 * (36 + 9 + 4 + 1))).astype("float32")
    pyramid = RoIPyramidPooling((6, 3, 2, 1), 0.5)
    stacked = [RoIPooling(n, 0.5, data_format="channels_last") for n in (6, 3, 2, 1)]

    def loss(pool):
        with tf.GradientTape() as tape:
            tape.watch(features)
            value = tf.reduce_sum(pool() * upstream)
        return tape.gradient(value, features).numpy()

    def through_stacked():
        return tf.concat([tf.reshape(tf.transpose(p([features, rois]), (0, 3, 1, 2)), (25, -1))
                          for p in stacked], axis=1)

    np.testing.assert_allclose(loss(lambda: pyramid([features, rois])), loss(through_stacked),
                               rtol=1e-6, atol=1e-6)


def test_bad_rois_are_refused_as_roi_pooling_refuses_them():
    features = np.zeros((1, 8, 8, 2), "float32")
    with pytest.raises(ValueError, match="NaN or infinite"):
        RoIPyramidPooling((2, 1), 1.0)([features, np.array([[0, 0, 0, np.nan, 3]], "float32")])
    with pytest.raises(ValueError, match="batch index"):
        RoIPyramidPooling((2, 1), 1.0)([features, np.array([[1, 0, 0, 3, 3]], "float32")])
    with pytest.raises(ValueError, match="positive integers"):
        RoIPyramidPooling((2, 0))


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(0)
    return zoo.get("plain9", **TINY)


def test_the_detector_shares_the_classifiers_trunk_and_fc_layers(classifier):
    detector = fast_rcnn(classifier, num_classes=4)
    assert trunk_stride(detector.trunk) == 2 and detector.spatial_scale == 0.5
    assert detector.levels == classifier.get_layer("spp").levels
    for name in ("conv1", "conv2_1", "conv3_1"):
        assert detector.trunk.get_layer(name) is classifier.get_layer(name)
    for name in ("fc1", "fc2"):
        assert detector.features.get_layer(name) is classifier.get_layer(name)
    assert "fc3" not in [layer.name for layer in detector.features.layers]
    # The first conv stage (conv1 and its PReLU) is frozen, the rest trains.
    frozen = [layer.name for layer in detector.trunk.layers
              if layer.weights and not layer.trainable]
    assert frozen == ["conv1", "conv1_act"]


def test_a_whole_image_roi_gives_the_classifiers_fc1_output(classifier):
    """Pooled on the trunk's map, a roi covering it is the classifier's SPP vector, so the
    pretrained fc1 (and fc2) see what they were trained on."""
    detector = fast_rcnn(classifier, num_classes=4)
    image = RNG.uniform(-100, 100, (1, 26, 34, 1)).astype("float32")
    map_height, map_width = detector.trunk(image).shape[1:3]
    whole = np.array([[0, 0, 0, (map_width - 1) * 2, (map_height - 1) * 2]], "float32")
    pooled = detector.roi_pooling([detector.trunk(image), whole])
    want = keras.Model(classifier.inputs, classifier.get_layer("fc1").output)(image)
    np.testing.assert_array_equal(detector.features.get_layer("fc1")(pooled).numpy(),
                                  want.numpy())


def test_new_layers_are_drawn_as_fast_rcnns_and_decayed(classifier):
    keras.utils.set_random_seed(1)
    detector = fast_rcnn(classifier, num_classes=20, weight_decay=5e-4)
    assert detector.cls_score.units == 21 and detector.bbox_pred.units == 84
    for layer, std in ((detector.cls_score, 0.01), (detector.bbox_pred, 0.001)):
        kernel = layer.kernel.numpy()
        assert abs(kernel.std() / std - 1) < 0.1 and abs(kernel.mean()) < 0.1 * std
        assert not layer.bias.numpy().any()
        assert isinstance(layer.kernel_regularizer, KernelDecay)
        assert layer.kernel_regularizer.get_config()["rate"] == 5e-4


def reference_loss(labels, targets, scores, deltas):
    """Fast R-CNN's SoftmaxWithLoss + SmoothL1Loss (sigma 1), roi by roi, over all rows."""
    total = 0.0
    rows = labels.size
    for label, target, score, delta in zip(labels.ravel(), targets.reshape(-1, 4),
                                           scores.reshape(rows, -1), deltas.reshape(rows, -1),
                                           strict=True):
        if label < 0:
            continue
        total -= np.log(score[label])
        if label > 0:
            for d in delta[4 * label:4 * label + 4] - target:
                total += 0.5 * d * d if abs(d) < 1 else abs(d) - 0.5
    return total / rows


def test_compute_loss_is_fast_rcnns_multi_task_loss(classifier):
    detector = fast_rcnn(classifier, num_classes=3, weight_decay=5e-4)
    labels = RNG.integers(-1, 4, (2, 8)).astype("int32")
    targets = RNG.normal(size=(2, 8, 4)).astype("float32") * 2
    scores = RNG.dirichlet(np.ones(4), (2, 8)).astype("float32")
    deltas = RNG.normal(size=(2, 8, 16)).astype("float32") * 2
    loss = detector.compute_loss(y={"labels": labels, "targets": targets},
                                 y_pred={"scores": scores, "deltas": deltas})
    decay = sum(float(extra) for extra in detector.losses)
    assert decay > 0
    np.testing.assert_allclose(float(loss) - decay,
                               reference_loss(labels, targets, scores, deltas), rtol=1e-5)


def test_each_image_goes_through_the_trunk_alone(classifier):
    """A batch pads its images to the largest; the padding never reaches the trunk."""
    detector = fast_rcnn(classifier, num_classes=2, pixel_mean=(30.0,))
    small = RNG.uniform(0, 255, (20, 24, 1)).astype("float32")
    large = RNG.uniform(0, 255, (30, 36, 1)).astype("float32")
    rois = np.stack([random_rois(6, 20, 24)[:, 1:]] * 2)
    batch = np.zeros((2, 30, 36, 1), "float32")
    batch[0, :20, :24] = small
    batch[1] = large
    together = detector({"images": batch, "image_shape": np.array([[20, 24], [30, 36]]),
                         "rois": rois})
    alone = detector({"images": small[None], "image_shape": np.array([[20, 24]]),
                      "rois": rois[:1]})
    np.testing.assert_allclose(together["scores"][0], alone["scores"][0], rtol=1e-6)
    np.testing.assert_allclose(together["deltas"][0], alone["deltas"][0], rtol=1e-5,
                               atol=1e-7)


def test_saves_and_reloads_with_safe_mode(classifier, tmp_path):
    detector = fast_rcnn(classifier, num_classes=3, pixel_mean=(12.5,), image_scale=(144, 240),
                         weight_decay=5e-4)
    inputs = {"images": RNG.uniform(0, 255, (1, 22, 30, 1)).astype("float32"),
              "image_shape": np.array([[22, 30]]), "rois": random_rois(5, 22, 30)[None, :, 1:]}
    want = detector(inputs)
    detector.save(tmp_path / "detector.keras")
    loaded = keras.models.load_model(tmp_path / "detector.keras", safe_mode=True)
    assert isinstance(loaded, FastRCNN)
    got = loaded(inputs)
    for name in ("scores", "deltas"):
        np.testing.assert_array_equal(got[name].numpy(), want[name].numpy())
    assert (loaded.pixel_mean, loaded.image_scale, loaded.levels) == ((12.5,), (144, 240),
                                                                      detector.levels)
    assert not loaded.trunk.get_layer("conv1").trainable
