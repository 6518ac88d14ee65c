"""Fast R-CNN's test-time post-processing, and the measurements of what limits the mAP."""

import numpy as np
import pytest

from keras_prelu.detection.analysis import error_breakdown, proposal_recall
from keras_prelu.detection.data import DetectionImage
from keras_prelu.detection.inference import Detections, postprocess

RNG = np.random.default_rng(5)


def reference_postprocess(proposals, scores, deltas, shape, threshold=0.05, nms_iou=0.3,
                          top=100):
    """py-faster-rcnn's test path written out: bbox_transform_inv (with the -1 that keeps
    widths), clip, per-class threshold and greedy NMS, then the image's best `top`."""
    height, width = shape
    rows = []
    for j in range(1, scores.shape[1]):
        candidates = []
        for roi, score, delta in zip(proposals, scores[:, j], deltas[:, 4 * j:4 * j + 4],
                                     strict=True):
            if score <= threshold:
                continue
            w, h = roi[2] - roi[0] + 1.0, roi[3] - roi[1] + 1.0
            cx, cy = roi[0] + 0.5 * w, roi[1] + 0.5 * h
            dx, dy, dw, dh = delta * [0.1, 0.1, 0.2, 0.2]
            px, py, pw, ph = dx * w + cx, dy * h + cy, np.exp(dw) * w, np.exp(dh) * h
            box = [px - 0.5 * pw, py - 0.5 * ph, px + 0.5 * pw - 1, py + 0.5 * ph - 1]
            box = [min(max(v, 0), limit - 1) for v, limit in zip(box, (width, height) * 2,
                                                                 strict=True)]
            candidates.append((float(score), box))
        candidates.sort(key=lambda c: -c[0])
        kept = []
        for score, box in candidates:
            if all(iou(box, other) < nms_iou for _, other in kept):
                kept.append((score, box))
        rows += [(score, j - 1, box) for score, box in kept]
    rows.sort(key=lambda r: -r[0])
    return rows[:top]


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
                    - inter)


@pytest.mark.parametrize("top", [100, 7])
def test_postprocessing_is_fast_rcnns_test(top):
    proposals = RNG.uniform(0, 150, (120, 2))
    proposals = np.concatenate([proposals, proposals + RNG.uniform(5, 60, (120, 2))], axis=1)
    scores = RNG.dirichlet(np.full(4, 0.3), 120).astype(np.float32)
    deltas = RNG.normal(0, 1.5, (120, 16)).astype(np.float32)
    got = postprocess(proposals.astype(np.float32), scores, deltas, (160, 190),
                      max_detections=top)
    want = reference_postprocess(proposals, scores, deltas, (160, 190), top=top)
    assert len(got.scores) == len(want) and 0 < len(want) <= top
    np.testing.assert_allclose(got.scores, [w[0] for w in want], rtol=1e-6)
    np.testing.assert_array_equal(got.labels, [w[1] for w in want])
    np.testing.assert_allclose(got.boxes, [w[2] for w in want], rtol=1e-4, atol=1e-3)
    assert got.boxes[:, [0, 2]].max() <= 189 and got.boxes[:, [1, 3]].max() <= 159
    assert got.boxes.min() >= 0


def image(boxes, labels, difficult=None, image_id="a"):
    boxes = np.asarray(boxes, np.float32)
    difficult = np.zeros(len(boxes), bool) if difficult is None else np.asarray(difficult)
    return DetectionImage(image_id, None, 100, 100, boxes, np.asarray(labels), difficult)


def test_proposal_recall_counts_objects_a_proposal_covers_at_half_iou():
    images = [image([[0, 0, 9, 9], [50, 50, 69, 69], [20, 20, 29, 29]], [0, 1, 1],
                    [False, False, True])]
    proposals = {"a": np.array([[0, 0, 9, 4], [50, 50, 69, 70]], np.float32)}
    # [0, 0, 9, 4] has IoU exactly 0.5 with the first object (counted); the difficult
    # third object is not counted at all.
    assert proposal_recall(images, proposals) == 1.0
    proposals = {"a": np.array([[0, 0, 9, 3]], np.float32)}  # IoU 0.4
    assert proposal_recall(images, proposals) == 0.0


def test_error_breakdown_sorts_each_classs_top_detections():
    images = [image([[0, 0, 19, 19], [50, 50, 69, 69], [0, 60, 19, 79]], [0, 0, 1],
                    [False, False, True]),
              image([[30, 30, 49, 49]], [1], image_id="b")]

    def found(rows):
        boxes, scores, labels = zip(*rows, strict=True)
        return Detections(np.array(boxes, np.float32), np.array(scores, np.float32),
                          np.array(labels))

    detections = {
        "a": found([([0, 0, 19, 19], 0.9, 0),   # class 0: a hit
                    ([1, 1, 19, 19], 0.8, 0),   # the same object again: localisation
                    ([50, 50, 59, 59], 0.3, 0),  # IoU 0.25 with an object: ignored (3rd)
                    ([0, 60, 19, 79], 0.7, 1),  # class 1 on a difficult object: ignored
                    ([0, 0, 19, 19], 0.6, 1)]),  # class 1 on a class-0 object: confusion
        "b": found([([80, 80, 95, 95], 0.5, 1)]),  # nothing there: background
    }
    # Class 0 has 2 objects: its 2 best are a hit and a duplicate. Class 1 has 1 object
    # (b's; a's is difficult): its best counted detection is the confusion.
    assert error_breakdown(detections, images, 2) == {
        "correct": 1 / 3, "localisation": 1 / 3, "confusion": 1 / 3, "background": 0.0}
