"""Fast R-CNN's box arithmetic: overlaps, regression targets and their inverse, clipping, NMS.

The library's box convention: a box is (x1, y1, x2, y2) in 0-based, inclusive pixel
coordinates, as Fast R-CNN holds boxes internally. It covers pixel columns x1..x2 and rows
y1..y2, so its width is x2 - x1 + 1 and the box of a whole W x H image is (0, 0, W - 1, H - 1).
Predicted boxes have fractional coordinates in the same frame.

Where boxes enter the convention:
  * VOC annotations and proposal files are 1-based (the first column is xmin = 1):
    `from_voc` subtracts 1, as Fast R-CNN's pascal_voc.py does on load.
    `keras_prelu.data.voc` keeps VOC's 1-based values; its consumers call `from_voc`, and
    `load_proposals` calls it on user files.
  * OpenCV's selective search gives (x, y, w, h): `selective_search` turns it into
    (x, y, x + w - 1, y + h - 1).
  * `evaluate_voc` takes detections and annotations in this convention. Its +1-pixel IoU does
    not change when both sides move by the same amount, so 1-based boxes on both sides give
    the same result.

Keras's own `keras.utils.bounding_boxes` (compute_iou, encode_box_to_deltas,
decode_deltas_to_boxes, clip_to_image_size) and `tf.image.non_max_suppression` treat "xyxy" as
continuous corners: a width is x2 - x1, without Fast R-CNN's +1. On half-open boxes
(x1, y1, x2 + 1, y2 + 1) their IoU and deltas equal Fast R-CNN's up to float32 rounding, but
compute_iou adds an epsilon to the union, and tf.image's NMS suppresses only IoU > threshold
where Fast R-CNN suppresses IoU >= threshold. Keras's clip keeps x2 <= W instead of W - 1.
So these functions are written here in Fast R-CNN's arithmetic; tests/detection/test_boxes.py
shows each difference.
"""

import numpy as np
from keras import ops

# Normalisation of the regression targets: py-faster-rcnn's BBOX_NORMALIZE_MEANS and _STDS
# (lib/fast_rcnn/config.py). Fast R-CNN divides the targets by these stds for training and
# multiplies the predictions by them at test time.
BBOX_MEANS = (0.0, 0.0, 0.0, 0.0)
BBOX_STDS = (0.1, 0.1, 0.2, 0.2)
# Fast R-CNN's cfg.TEST.NMS: per-class NMS at test time suppresses boxes with IoU >= 0.3.
NMS_THRESHOLD = 0.3


def _boxes(values, name, dtype=np.float64):
    boxes = np.asarray(values, dtype)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must be (N, 4), rows (x1, y1, x2, y2); got shape {boxes.shape}.")
    return boxes


def from_voc(boxes):
    """VOC's 1-based pixel boxes in the library's 0-based convention (Fast R-CNN's `- 1`).

    Args:
        boxes: (..., 4) (xmin, ymin, xmax, ymax) in VOC's 1-based, inclusive pixels, as in
            VOC's annotation XML and in proposal files.

    Returns:
        (..., 4) float32 boxes, every coordinate minus 1.

    Example:

    >>> from_voc([[1, 1, 500, 375]])  # the whole of a 500 x 375 image
    array([[  0.,   0., 499., 374.]], dtype=float32)
    """
    return np.asarray(boxes, np.float32) - 1


def box_iou(boxes, query_boxes):
    """Fast R-CNN's IoU (utils/cython_bbox.pyx `bbox_overlaps`) of every pair of boxes.

    Widths and heights count pixels (x2 - x1 + 1); the IoU is 0 for boxes that share no
    pixel. Computed in float64 in Fast R-CNN's order of operations, so the results are
    bit-identical to its `bbox_overlaps` and to the VOC devkit's overlap.

    Args:
        boxes: (N, 4) boxes (x1, y1, x2, y2), the library's convention.
        query_boxes: (M, 4) boxes.

    Returns:
        (N, M) float64 IoUs.

    Raises:
        ValueError: If either argument is not (N, 4).

    Example:

    >>> box_iou([[0, 0, 9, 9]], [[0, 0, 9, 4], [10, 0, 19, 9]])  # 50 / 100 pixels; none shared
    array([[0.5, 0. ]])
    """
    boxes = _boxes(boxes, "boxes")
    query = _boxes(query_boxes, "query_boxes")
    areas = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    query_areas = (query[:, 2] - query[:, 0] + 1) * (query[:, 3] - query[:, 1] + 1)
    iw = np.minimum(boxes[:, None, 2], query[None, :, 2]) - np.maximum(
        boxes[:, None, 0], query[None, :, 0]) + 1
    ih = np.minimum(boxes[:, None, 3], query[None, :, 3]) - np.maximum(
        boxes[:, None, 1], query[None, :, 1]) + 1
    # bbox_overlaps computes an overlap only where iw > 0 and ih > 0, i.e. inter > 0.
    inter = np.maximum(iw, 0) * np.maximum(ih, 0)
    union = areas[:, None] + query_areas[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=inter > 0)


def encode_boxes(rois, gt_boxes, means=BBOX_MEANS, stds=BBOX_STDS):
    """Fast R-CNN's regression targets from proposals to their ground-truth boxes, normalised.

    py-faster-rcnn's `bbox_transform` (lib/fast_rcnn/bbox_transform.py): widths
    w = x2 - x1 + 1, centres x1 + 0.5 * w; dx = (gt_cx - cx) / w, dy likewise,
    dw = log(gt_w / w), dh likewise; then (targets - means) / stds.

    Args:
        rois: (N, 4) proposals, the library's convention.
        gt_boxes: (N, 4) the ground-truth box each proposal regresses to.
        means: 4 means subtracted from (dx, dy, dw, dh).
        stds: 4 stds the centred targets are divided by.

    Returns:
        (N, 4) float32 normalised targets (dx, dy, dw, dh).

    Raises:
        ValueError: If the shapes differ or are not (N, 4), or a box covers no pixel
            (x2 - x1 + 1 <= 0 or y2 - y1 + 1 <= 0).

    Example:

    >>> encode_boxes([[0, 0, 9, 9]], [[5, 0, 14, 19]])  # shifted by half a width, twice as tall
    array([[5.      , 5.      , 0.      , 3.465736]], dtype=float32)
    """
    rois = _boxes(rois, "rois")
    gt = _boxes(gt_boxes, "gt_boxes")
    if rois.shape != gt.shape:
        raise ValueError(f"rois {rois.shape} and gt_boxes {gt.shape} must pair up row by row.")
    widths, heights = rois[:, 2] - rois[:, 0] + 1.0, rois[:, 3] - rois[:, 1] + 1.0
    gt_widths, gt_heights = gt[:, 2] - gt[:, 0] + 1.0, gt[:, 3] - gt[:, 1] + 1.0
    if not (np.all(widths > 0) and np.all(heights > 0) and np.all(gt_widths > 0)
            and np.all(gt_heights > 0)):
        raise ValueError("encode_boxes: every box must cover a pixel (x2 - x1 + 1 > 0, "
                         "y2 - y1 + 1 > 0).")
    targets = np.stack(
        [
            (gt[:, 0] + 0.5 * gt_widths - (rois[:, 0] + 0.5 * widths)) / widths,
            (gt[:, 1] + 0.5 * gt_heights - (rois[:, 1] + 0.5 * heights)) / heights,
            np.log(gt_widths / widths),
            np.log(gt_heights / heights),
        ],
        axis=1,
    )
    return ((targets - np.asarray(means)) / np.asarray(stds)).astype(np.float32)


def decode_boxes(rois, deltas, means=BBOX_MEANS, stds=BBOX_STDS):
    """Boxes from normalised deltas: the exact inverse of `encode_boxes`, in keras.ops.

    Fast R-CNN's `bbox_transform_inv` on deltas * stds + means: predicted centre
    dx * w + cx, width exp(dw) * w, with w = x2 - x1 + 1. The corners are
    centre -/+ half the width, and then x2, y2 are reduced by 1 so that a box keeps its
    width in this inclusive convention. py-faster-rcnn's `bbox_transform_inv` leaves out
    the - 1, so its decoded boxes are one pixel wider and taller than the boxes it was
    trained to reach (Detectron later added the - 1). Clip the results with `clip_boxes`.

    Args:
        rois: (R, 4) proposals, the library's convention.
        deltas: (R, 4 * K) normalised deltas, (dx, dy, dw, dh) for each of K classes, the
            layout of Fast R-CNN's bbox_pred layer.
        means: 4 means, as given to `encode_boxes`.
        stds: 4 stds, as given to `encode_boxes`.

    Returns:
        (R, 4 * K) float32 boxes (x1, y1, x2, y2) per class, a backend tensor.

    Raises:
        ValueError: If the last axis of `deltas` is not a multiple of 4.

    Example:

    >>> decode_boxes([[0, 0, 9, 9]], [[5, 5, 0, 3.465736]])  # [[5, 0, 14, 19]], see encode_boxes
    """
    rois = ops.cast(rois, "float32")
    deltas = ops.cast(deltas, "float32")
    if deltas.shape[-1] is None or deltas.shape[-1] % 4:
        raise ValueError(f"deltas must be (R, 4 * K), 4 per class; got shape {deltas.shape}.")
    classes = deltas.shape[-1] // 4
    deltas = ops.reshape(deltas, (-1, classes, 4)) * ops.convert_to_tensor(
        stds, "float32") + ops.convert_to_tensor(means, "float32")
    widths = ops.expand_dims(rois[:, 2] - rois[:, 0] + 1.0, 1)
    heights = ops.expand_dims(rois[:, 3] - rois[:, 1] + 1.0, 1)
    center_x = ops.expand_dims(rois[:, 0], 1) + 0.5 * widths
    center_y = ops.expand_dims(rois[:, 1], 1) + 0.5 * heights
    pred_x = deltas[..., 0] * widths + center_x
    pred_y = deltas[..., 1] * heights + center_y
    pred_w = ops.exp(deltas[..., 2]) * widths
    pred_h = ops.exp(deltas[..., 3]) * heights
    boxes = ops.stack(
        [pred_x - 0.5 * pred_w, pred_y - 0.5 * pred_h,
         pred_x + 0.5 * pred_w - 1.0, pred_y + 0.5 * pred_h - 1.0],
        axis=-1,
    )
    return ops.reshape(boxes, (-1, 4 * classes))


def clip_boxes(boxes, image_shape):
    """Boxes clipped to the image, as py-faster-rcnn's `clip_boxes`, in keras.ops.

    Every coordinate is clamped to the image: x to [0, width - 1], y to [0, height - 1].

    Args:
        boxes: (..., 4 * K) boxes (x1, y1, x2, y2), K per row (e.g. `decode_boxes`'s output).
        image_shape: (height, width) of the image in pixels, integers or scalar tensors.

    Returns:
        The clipped boxes, a backend tensor of `boxes`' shape and dtype.

    Raises:
        ValueError: If the last axis of `boxes` is not a multiple of 4.

    Example:

    >>> clip_boxes([[-3.5, 10, 520, 380]], (375, 500))  # [[0, 10, 499, 374]]
    """
    boxes = ops.convert_to_tensor(boxes)
    if boxes.shape[-1] is None or boxes.shape[-1] % 4:
        raise ValueError(f"boxes must be (..., 4 * K), 4 per box; got shape {boxes.shape}.")
    height, width = image_shape
    x_max = ops.cast(width, boxes.dtype) - 1
    y_max = ops.cast(height, boxes.dtype) - 1
    upper = ops.tile(ops.stack([x_max, y_max, x_max, y_max]), [boxes.shape[-1] // 4])
    return ops.maximum(ops.minimum(boxes, upper), ops.cast(0, boxes.dtype))


def nms(boxes, scores, classes, iou_threshold=NMS_THRESHOLD):
    """Greedy per-class non-maximum suppression, Fast R-CNN's (utils/nms.pyx), on the CPU.

    Within each class, boxes are visited by descending score. Each box that has not been
    suppressed is kept, and it suppresses every later box of its class whose IoU with it
    is >= `iou_threshold`. The IoU counts pixels (+1 widths). As in Fast R-CNN, the boxes
    are float32 and the IoU is computed in float32 in its order of operations, then
    compared with the threshold in float64. Boxes of different classes never suppress
    each other. Equal scores keep their input order (Fast R-CNN's `argsort()[::-1]`
    leaves that order unspecified).

    Args:
        boxes: (N, 4) boxes (x1, y1, x2, y2), the library's convention.
        scores: (N,) scores.
        classes: (N,) class of each box (any hashable labels, e.g. ints).
        iou_threshold: boxes at or above this IoU with a kept box of their class are
            suppressed (Fast R-CNN tests at 0.3).

    Returns:
        int64 indices of the kept boxes, by descending score (ties in input order).

    Raises:
        ValueError: On mismatched shapes or non-finite boxes or scores.

    Example:

    >>> nms([[0, 0, 9, 9], [0, 0, 9, 2], [0, 0, 9, 2]], [0.9, 0.8, 0.7], [1, 1, 2])
    array([0, 2])
    """
    boxes = _boxes(boxes, "boxes", np.float32)
    scores = np.asarray(scores)
    classes = np.asarray(classes)
    if scores.shape != (len(boxes),) or classes.shape != (len(boxes),):
        raise ValueError(f"nms: {len(boxes)} boxes need ({len(boxes)},) scores and classes; "
                         f"got {scores.shape} and {classes.shape}.")
    if not (np.all(np.isfinite(boxes)) and np.all(np.isfinite(scores))):
        raise ValueError("nms: boxes and scores must be finite.")
    order = np.argsort(-scores, kind="stable")
    kept = np.zeros(len(boxes), bool)
    for label in np.unique(classes):
        members = order[classes[order] == label]
        kept[members[_greedy(boxes[members], iou_threshold)]] = True
    return order[kept[order]].astype(np.int64)


def _greedy(boxes, threshold):
    """Positions kept by greedy NMS of float32 boxes already sorted by descending score."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    remaining = np.arange(len(boxes))
    kept = []
    with np.errstate(invalid="ignore", divide="ignore"):
        while remaining.size:
            i, rest = remaining[0], remaining[1:]
            kept.append(i)
            w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
            h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
            inter = w * h
            overlap = inter / (areas[i] + areas[rest] - inter)
            # nms.pyx suppresses on `ovr >= thresh` (a float32 ovr against a double thresh); a
            # NaN overlap (two empty boxes) suppresses nothing there either.
            remaining = rest[~(overlap.astype(np.float64) >= threshold)]
    return np.asarray(kept, np.int64)
