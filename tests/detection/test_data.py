"""A detector's images and training rois: Fast R-CNN's scale rule, roidb and minibatch
sampling, flips, and the input pipeline's determinism."""

import dataclasses

import cv2
import numpy as np
import pytest
import tensorflow as tf

from keras_prelu.data import voc_devkit
from keras_prelu.detection.data import (
    DetectionImage,
    flip_boxes,
    image_scale,
    read_image,
    resize,
    sample_rois,
    training_rois,
)
from keras_prelu.detection.pipeline import Sampling, check_rois, training_dataset
from keras_prelu.detection.training import DetectionConfig, load_images
from tests.data.test_voc import needs_labelme

RNG = np.random.default_rng(11)
SAMPLING = {"count": 64, "fg_fraction": 0.25, "fg_threshold": 0.5, "bg_range": (0.1, 0.5)}


def loop_iou(a, b):
    """IoU with Fast R-CNN's +1 pixel widths, pair by pair, in float64."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    union = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
    return iw * ih / (union - iw * ih)


def loop_target(roi, gt):
    """py-faster-rcnn's bbox_transform, normalised by (0.1, 0.1, 0.2, 0.2), in float64."""
    roi, gt = np.asarray(roi, np.float64), np.asarray(gt, np.float64)
    w, h = roi[2] - roi[0] + 1, roi[3] - roi[1] + 1
    gw, gh = gt[2] - gt[0] + 1, gt[3] - gt[1] + 1
    return np.array([(gt[0] + 0.5 * gw - roi[0] - 0.5 * w) / w / 0.1,
                     (gt[1] + 0.5 * gh - roi[1] - 0.5 * h) / h / 0.1,
                     np.log(gw / w) / 0.2, np.log(gh / h) / 0.2])


def scene(tmp_path=None, proposals=600, name="scene"):
    """An image with three objects and proposals scattered around and over them."""
    gt = np.array([[20, 30, 79, 99], [120, 40, 169, 89], [60, 110, 139, 169]], np.float32)
    centres = gt[RNG.integers(0, 3, proposals)]
    jitter = RNG.normal(0, 18, (proposals, 4))
    boxes = np.sort(np.clip(centres + jitter, 0, 199).reshape(-1, 2, 2), axis=1).reshape(-1, 4)
    path = None
    if tmp_path is not None:
        path = tmp_path / f"{name}.jpg"
        cv2.imwrite(str(path), RNG.integers(0, 256, (180, 200, 3), dtype=np.uint8))
    image = DetectionImage(name, path, 180, 200, gt, np.array([4, 0, 7]),
                           np.array([False, True, False]))
    return image, boxes.astype(np.float32)


def test_fast_rcnns_scale_rule():
    assert image_scale(375, 500, 600, 1000) == 1.6  # VOC's usual image: 600 x 800
    assert image_scale(200, 500, 600, 1000) == 2.0  # 1500 px would exceed the cap
    assert image_scale(270, 360, 144, 240) == 144 / 270
    image = np.zeros((270, 361, 1), np.float32)
    assert resize(image, 144 / 270).shape == (144, 193, 1)  # round(361 * 0.5333) = 193


def test_grey_images_are_the_mean_of_the_colour_channels(tmp_path):
    rgb = RNG.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), rgb[..., ::-1])
    np.testing.assert_array_equal(read_image(tmp_path / "a.png", 3), rgb.astype(np.float32))
    np.testing.assert_allclose(read_image(tmp_path / "a.png", 1)[..., 0], rgb.mean(axis=2),
                               rtol=1e-6)


def test_the_roidb_holds_ground_truth_and_overlapping_proposals():
    image, proposals = scene()
    rois = training_rois(image, proposals, min_overlap=0.1)
    np.testing.assert_array_equal(rois.boxes[:3], image.boxes)  # ground truth first
    np.testing.assert_array_equal(rois.labels[:3], image.labels + 1)
    kept = 0
    for box in proposals:
        ious = [loop_iou(box, gt) for gt in image.boxes]
        if max(ious) < 0.1:
            continue
        row = 3 + kept
        np.testing.assert_array_equal(rois.boxes[row], box)
        assert rois.overlaps[row] == pytest.approx(max(ious), rel=1e-12)
        assert rois.gt_index[row] == int(np.argmax(ious))
        assert rois.labels[row] == image.labels[np.argmax(ious)] + 1
        kept += 1
    assert len(rois.boxes) == 3 + kept < 3 + len(proposals)


def test_minibatch_sampling_follows_fast_rcnns_rules():
    image, proposals = scene()
    rois = training_rois(image, proposals, min_overlap=0.1)
    boxes, labels, targets = sample_rois(rois, image.boxes, np.random.default_rng(0), **SAMPLING)
    fg = labels > 0
    assert fg.sum() == 16 and (labels == 0).sum() == 48 and labels[:16].all()
    for box, label, target in zip(boxes, labels, targets, strict=True):
        ious = [loop_iou(box, gt) for gt in image.boxes]
        best = int(np.argmax(ious))
        if label > 0:
            assert max(ious) >= 0.5 and label == image.labels[best] + 1
            np.testing.assert_allclose(target, loop_target(box, image.boxes[best]), rtol=1e-5,
                                       atol=1e-5)
        else:
            assert 0.1 <= max(ious) < 0.5 and not target.any()
    # Without replacement: no roi twice (the ground-truth boxes may repeat a proposal).
    chosen = {tuple(box) for box in boxes}
    assert len(chosen) == 64
    # The same generator state gives the same minibatch; another gives another.
    again = sample_rois(rois, image.boxes, np.random.default_rng(0), **SAMPLING)
    other = sample_rois(rois, image.boxes, np.random.default_rng(1), **SAMPLING)
    np.testing.assert_array_equal(again[0], boxes)
    assert not np.array_equal(other[0], boxes)


def test_an_image_with_few_candidates_pads_with_ignored_rows():
    image, proposals = scene(proposals=5)
    rois = training_rois(image, proposals, min_overlap=0.1)
    boxes, labels, targets = sample_rois(rois, image.boxes, np.random.default_rng(0), **SAMPLING)
    candidates = len(rois.boxes)
    assert candidates < 64
    assert (labels[:candidates] >= 0).all() and (labels[candidates:] == -1).all()
    assert not boxes[candidates:].any() and not targets[candidates:].any()


def test_flipped_boxes_mirror_and_their_targets_negate_dx():
    image, proposals = scene()
    flipped = flip_boxes(image.boxes, image.width)
    np.testing.assert_array_equal(flipped[0], [200 - 1 - 79, 30, 200 - 1 - 20, 99])
    np.testing.assert_array_equal(flip_boxes(flipped, image.width), image.boxes)
    roi = np.array([[25, 35, 84, 95]], np.float32)
    target = loop_target(roi[0], image.boxes[0])
    mirrored = loop_target(flip_boxes(roi, 200)[0], flipped[0])
    np.testing.assert_allclose(mirrored, target * [-1, 1, 1, 1], atol=1e-12)


def sampling():
    return Sampling(channels=1, scale=90, max_size=150, rois_per_image=8, fg_fraction=0.25,
                    fg_threshold=0.5, bg_range=(0.1, 0.5))


def test_the_pipeline_is_a_function_of_seed_epoch_and_image(tmp_path):
    """Each image's flip and rois depend on (seed, epoch, image) only: the same in every
    iteration, and in a pipeline shard as in the whole epoch (as replicas see them)."""
    scenes = [scene(tmp_path, name=f"s{i}") for i in range(4)]
    images = [image for image, _ in scenes]
    rois = [training_rois(image, boxes, 0.1) for image, boxes in scenes]

    def epoch(epoch, context=None, batch=2):
        data = training_dataset(images, rois, sampling(), batch, seed=5, epoch=epoch,
                                input_context=context)
        return [(x["rois"].numpy(), y["labels"].numpy(), x["images"].numpy(),
                 x["image_shape"].numpy()) for x, y in data]

    first = epoch(0)
    assert len(first) == 2 and first[0][0].shape == (2, 8, 4)
    # 180 x 200 at a 90-px shorter side, in the top-left corner of a max_size canvas.
    pixels, shapes = first[0][2], first[0][3]
    assert pixels.shape == (2, 150, 150, 1)
    np.testing.assert_array_equal(shapes, [[90, 100], [90, 100]])
    assert pixels[:, :90, :100].any() and not pixels[:, 90:].any() and not pixels[:, :, 100:].any()
    for got, want in zip(epoch(0), first, strict=True):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(epoch(1)[0][0], first[0][0])
    # Two input pipelines (one per worker) take every other image of the same order.
    shards = [epoch(0, tf.distribute.InputContext(2, i, 2)) for i in range(2)]
    for step, (rois_, labels, _, _) in enumerate(first):
        for k in range(2):
            np.testing.assert_array_equal(shards[k][step][0][0], rois_[k])
            np.testing.assert_array_equal(shards[k][step][1][0], labels[k])


def test_the_pipeline_refuses_rois_that_are_not_finite(tmp_path):
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_rois(tf.constant([[0.0, 0.0, np.inf, 3.0]]))
    image, boxes = scene(tmp_path)
    rois = training_rois(image, boxes, 0.1)
    broken = dataclasses.replace(rois, boxes=np.where(rois.overlaps[:, None] < 0.5, np.nan,
                                                      rois.boxes).astype(np.float32))
    data = training_dataset([image], [broken], sampling(), 1, seed=0, epoch=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or infinite"):
        next(iter(data))


@needs_labelme
def test_tensorflow_datasets_voc_gives_the_devkits_images(prepared_tfds, tmp_path):
    """The voc_tfds route (tfds's real voc/2007 builder, run on labelme's VOC files) gives
    the devkit route's images: the same ids, JPEG bytes, sizes, boxes, classes, difficult."""
    devkit_dir, data_dir = prepared_tfds
    common = {"train_split": "trainval", "test_split": "test",
              "proposals_dir": str(tmp_path / "data" / "proposals")}
    from_devkit = load_images(DetectionConfig(dataset="voc", data_dir=str(devkit_dir), **common))
    from_tfds = load_images(DetectionConfig(dataset="voc_tfds", data_dir=str(data_dir), **common))
    for want, got in zip(from_devkit, from_tfds, strict=True):
        assert sorted(i.image_id for i in got) == sorted(i.image_id for i in want) != []
        by_id = {image.image_id: image for image in want}
        for image in got:
            reference = by_id[image.image_id]
            assert image.path.parent == tmp_path / "data" / "voc2007_tfds_images"
            assert image.path.read_bytes() == reference.path.read_bytes()
            assert (image.height, image.width) == (reference.height, reference.width)
            np.testing.assert_array_equal(image.boxes, reference.boxes)
            np.testing.assert_array_equal(image.labels, reference.labels)
            np.testing.assert_array_equal(image.difficult, reference.difficult)
    # The devkit's boxes are VOC's 1-based pixels less one.
    record = voc_devkit(devkit_dir, "test")[0]
    image = next(i for i in from_tfds[1] if i.image_id == record.image_id)
    np.testing.assert_array_equal(image.boxes, record.boxes - 1)
