"""A detector's images: their annotations, pixels at Fast R-CNN's scale, and training rois.

  * `DetectionImage`: one annotated image in the library's 0-based box convention
    (`detection_images` converts `keras_prelu.data.voc` records with `from_voc`;
    `tfds_detection_images` the examples of tensorflow-datasets' `voc`).
  * `read_image`, `image_scale`, `resize`: Fast R-CNN's test and training blobs
    (lib/utils/blob.py `prep_im_for_blob`): the shorter side scaled to `scale` unless
    the longer side would exceed `max_size`.
  * `TrainingRois`, `training_rois`, `sample_rois`: Fast R-CNN's roidb entry of an image
    (ground-truth boxes and proposals with their best overlap and class,
    lib/roi_data_layer/roidb.py) and its minibatch sampling (minibatch.py `_sample_rois`).
"""

import dataclasses
from pathlib import Path

import cv2
import numpy as np

from keras_prelu.data.errors import CorruptImageError
from keras_prelu.detection.boxes import box_iou, encode_boxes, from_voc


@dataclasses.dataclass(frozen=True, eq=False)
class DetectionImage:
    """One annotated image.

    Attributes:
        image_id: its id in the split.
        path: the image file.
        height, width: its size in pixels.
        boxes: (N, 4) float32 objects (x1, y1, x2, y2), 0-based inclusive pixels.
        labels: (N,) int64 class indices, 0 .. K - 1.
        difficult: (N,) bool; the VOC metric neither counts nor misses these.
    """

    image_id: str
    path: Path
    height: int
    width: int
    boxes: np.ndarray
    labels: np.ndarray
    difficult: np.ndarray


def detection_images(records):
    """`DetectionImage`s of `keras_prelu.data.voc_devkit` records (VOC's 1-based boxes -1)."""
    return [DetectionImage(r.image_id, Path(r.image_path), r.height, r.width,
                           from_voc(r.boxes).reshape(-1, 4), r.labels, r.difficult)
            for r in records]


def tfds_detection_images(examples, images_dir):
    """`DetectionImage`s of `keras_prelu.data.voc_tfds` examples, their JPEGs as files.

    tensorflow-datasets holds each image's encoded JPEG; the detector reads and proposes
    on files, so each is written once, byte for byte, to `images_dir/<image id>.jpg` (and
    rewritten only if its bytes differ). Boxes are tfds's recovered VOC pixels, converted
    as the devkit's are (`from_voc`).

    Args:
        examples: a `voc_tfds` dataset.
        images_dir: the folder the JPEGs go to.

    Returns:
        The `DetectionImage`s, in tfds's order.
    """
    from keras_prelu.training.run_directory import write_atomically

    images_dir = Path(images_dir)
    images_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for example in examples.as_numpy_iterator():
        image_id, encoded = example["image_id"].decode(), example["image"]
        path = images_dir / f"{image_id}.jpg"
        if not path.is_file() or path.read_bytes() != encoded:
            write_atomically(path, lambda scratch, data=encoded: Path(scratch).write_bytes(data))
        images.append(DetectionImage(image_id, path, int(example["height"]),
                                     int(example["width"]),
                                     from_voc(example["boxes"]).reshape(-1, 4),
                                     example["labels"], example["difficult"]))
    return images


def read_image(path, channels):
    """An image file as float32 pixels: RGB, or grey (the mean of R, G and B) for 1 channel.

    Decoded by OpenCV, ignoring EXIF orientation as the proposals' decoder does
    (`keras_prelu.detection.proposals`), so boxes and pixels agree.

    Args:
        path: the image file.
        channels: 3 (RGB) or 1 (grey).

    Returns:
        (H, W, channels) float32 values in [0, 255].

    Raises:
        CorruptImageError: if OpenCV cannot decode the file.
    """
    data = np.fromfile(path, np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        raise CorruptImageError(f"{path}: OpenCV cannot decode this image; replace or remove it.")
    rgb = bgr[..., ::-1].astype(np.float32)
    return rgb.mean(axis=2, keepdims=True) if channels == 1 else rgb


def image_scale(height, width, scale, max_size):
    """Fast R-CNN's resize factor: shorter side to `scale`, longer side at most `max_size`."""
    factor = scale / min(height, width)
    if round(factor * max(height, width)) > max_size:
        factor = max_size / max(height, width)
    return factor


def resize(image, factor):
    """`image` resized by `factor` (OpenCV: area averaging to shrink, bilinear to enlarge).

    The size is cv2.resize's for fx = fy = factor, round(side * factor), as Fast R-CNN's
    `prep_im_for_blob`; rois are scaled by the same `factor`.

    Returns:
        (round(H * factor), round(W * factor), C) float32.
    """
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, None, fx=factor, fy=factor, interpolation=interpolation)
    return resized.reshape(*resized.shape[:2], image.shape[2])


@dataclasses.dataclass(frozen=True, eq=False)
class TrainingRois:
    """Fast R-CNN's roidb entry of a training image: its candidate rois.

    Attributes:
        boxes: (M, 4) float32 rois: the ground-truth boxes first, then the proposals.
        overlaps: (M,) float64 best IoU of each roi with a ground-truth box.
        labels: (M,) int32 class of that box + 1 (0 where the roi overlaps none).
        gt_index: (M,) int64 which ground-truth box that is (the regression target).
    """

    boxes: np.ndarray
    overlaps: np.ndarray
    labels: np.ndarray
    gt_index: np.ndarray


def training_rois(image, proposals, min_overlap):
    """The roidb entry of `image`: its ground-truth boxes and proposals, and their overlaps.

    Ground-truth boxes are rois too (Fast R-CNN's `merge_roidbs`), difficult ones
    included, as Fast R-CNN trained. Proposals whose best IoU is below `min_overlap` (the
    background range's low end) are never sampled and are left out.

    Args:
        image: a `DetectionImage`.
        proposals: (P, 4) its proposals, 0-based pixels.
        min_overlap: the lowest IoU a sampled roi can have (Fast R-CNN's BG_THRESH_LO).

    Returns:
        A `TrainingRois`.
    """
    boxes = np.concatenate([image.boxes, np.asarray(proposals, np.float32).reshape(-1, 4)])
    gt_index, overlaps, labels = (np.zeros(len(boxes), dtype) for dtype in
                                  (np.int64, np.float64, np.int32))
    if len(image.boxes):
        iou = box_iou(boxes, image.boxes)
        gt_index, overlaps = iou.argmax(axis=1), iou.max(axis=1)
        labels = np.where(overlaps > 0, image.labels[gt_index] + 1, 0)
    keep = overlaps >= min_overlap
    keep[:len(image.boxes)] = True
    return TrainingRois(boxes[keep], overlaps[keep], labels[keep].astype(np.int32),
                        gt_index[keep])


def flip_boxes(boxes, width):
    """Boxes of an image of `width` mirrored left-right: x1' = W - 1 - x2, x2' = W - 1 - x1."""
    boxes = np.array(boxes, np.float32)
    boxes[:, [0, 2]] = width - 1 - boxes[:, [2, 0]]
    return boxes


def sample_rois(rois, gt_boxes, rng, *, count, fg_fraction, fg_threshold, bg_range):
    """Fast R-CNN's rois of one image for one minibatch (minibatch.py `_sample_rois`).

    Foreground: up to round(fg_fraction * count) rois with IoU >= fg_threshold, drawn
    without replacement; background: the rest of the `count` from those with IoU in
    [bg_range[0], bg_range[1]), also without replacement, labelled 0. An image with too
    few candidates gets fewer rois; its rows are padded to `count` with label -1 (which
    the loss ignores). Regression targets are `encode_boxes` of each foreground roi to its
    ground-truth box (0 elsewhere).

    Args:
        rois: the image's `TrainingRois` (in the image's frame: flipped if it is).
        gt_boxes: (N, 4) its ground-truth boxes, in the same frame.
        rng: a `numpy.random.Generator` (seeded per run seed, epoch and image).
        count: rois per image (Fast R-CNN: 128 / 2 images = 64).
        fg_fraction: the foreground share (0.25).
        fg_threshold: the foreground IoU (0.5).
        bg_range: the background IoU range [low, high) ((0.1, 0.5)).

    Returns:
        (boxes (count, 4) float32, labels (count,) int32, targets (count, 4) float32),
        foreground first, then background, then padding.
    """
    foreground = np.flatnonzero(rois.overlaps >= fg_threshold)
    background = np.flatnonzero((rois.overlaps >= bg_range[0]) & (rois.overlaps < bg_range[1]))
    fg_count = min(int(np.round(fg_fraction * count)), foreground.size)
    foreground = rng.choice(foreground, fg_count, replace=False)
    background = rng.choice(background, min(count - fg_count, background.size), replace=False)
    keep = np.concatenate([foreground, background]).astype(np.int64)
    boxes = np.zeros((count, 4), np.float32)
    labels = np.full(count, -1, np.int32)
    targets = np.zeros((count, 4), np.float32)
    boxes[:keep.size] = rois.boxes[keep]
    labels[:keep.size] = rois.labels[keep]
    labels[fg_count:keep.size] = 0
    if fg_count:
        targets[:fg_count] = encode_boxes(rois.boxes[foreground],
                                          gt_boxes[rois.gt_index[foreground]])
    return boxes, labels, targets
