"""The PASCAL VOC detection metric: the devkit's VOCevaldet.m and VOCap.m, in NumPy.

Fast R-CNN (and the paper's Table 8) scores VOC 2007 test with the official MATLAB devkit:
lib/datasets/pascal_voc.py writes the detections to files and runs VOCevaldet through
VOCdevkit-matlab-wrapper/voc_eval.m. This module computes the same numbers from the
detections in memory. It differs from py-faster-rcnn's unofficial lib/datasets/voc_eval.py
in three places, each following the devkit: a match needs IoU >= the threshold (py-faster-rcnn
uses >); ties in score keep their input order (MATLAB's sort is stable, NumPy's default
argsort is not); and the 11 recall thresholds are MATLAB's `0:0.1:1` (see
VOC07_RECALL_THRESHOLDS).
The devkit reads detections from text files, in which Fast R-CNN rounds scores to 3 decimals
and coordinates to 1. Here they keep their full precision.
"""

import math

import numpy as np

from keras_prelu.detection.boxes import box_iou

# MATLAB's 0:0.1:1, the recall thresholds of the VOC 2007 11-point AP (VOCevaldet.m). MATLAB
# computes a range from both ends: a + k * d for the first half, b - (n - k) * d for the
# second half. Its 4th value is therefore 3 * 0.1 = 0.30000000000000004, so a recall of
# exactly 0.3 (3 of 10 objects) does not reach it, but its 7th and 8th values are
# 1 - 4 * 0.1 = 0.6 and 1 - 3 * 0.1 = 0.7 exactly. py-faster-rcnn's np.arange(0., 1.1, 0.1)
# also puts 0.6 and 0.7 one ulp higher.
VOC07_RECALL_THRESHOLDS = tuple(k * 0.1 for k in range(6)) + tuple(
    1 - k * 0.1 for k in range(4, -1, -1))


def average_precision(recall, precision, use_07_metric=True):
    """AP of one class from its precision/recall curve, as the VOC devkit computes it.

    VOC 2007 (VOCevaldet.m): the mean over the 11 thresholds t = 0, 0.1, ..., 1 of the
    highest precision at a recall >= t (0 where no recall reaches t). VOC 2010 and later
    (VOCap.m): the area under the precision envelope, the running maximum of the precision
    from the right. Precisions that are NaN (nothing counted yet: the first detections
    matched difficult objects) are skipped, as MATLAB's max skips them. If all of them are
    NaN, the AP is 0, where the devkit's 11-point AP would be NaN.

    Args:
        recall: (D,) recall after each detection, by descending score.
        precision: (D,) precision after each detection.
        use_07_metric: The VOC 2007 11-point AP (True) or the area (False).

    Returns:
        The AP, a float.

    Example:

    >>> round(average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]), 4)  # (6 + 5 * 2/3) / 11
    0.8485
    >>> round(average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3], use_07_metric=False), 4)
    0.8333
    """
    recall = np.asarray(recall, np.float64)
    precision = np.nan_to_num(np.asarray(precision, np.float64), nan=0.0)
    if use_07_metric:
        ap = 0.0
        for t in VOC07_RECALL_THRESHOLDS:
            reached = precision[recall >= t]
            ap += (float(reached.max()) if reached.size else 0.0) / 11
        return ap
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.maximum.accumulate(np.concatenate([[0.0], precision, [0.0]])[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[steps] - mrec[steps - 1]) * mpre[steps]))


def evaluate_voc(detections, annotations, iou_threshold=0.5, use_07_metric=True):
    """Per-class AP and mAP of detections, exactly as the VOC devkit's VOCevaldet computes them.

    For each class, its detections are ranked by descending score (equal scores keep their
    input order). Each detection is matched to the ground-truth box of its class in its
    image with the highest IoU (the first one on a tie); the IoU counts pixels (+1 widths).
    A detection is a true positive if that IoU is >= `iou_threshold` (VOCevaldet's
    `ovmax >= VOCopts.minoverlap`) and the object is not difficult and not yet matched. It
    is ignored (neither true nor false positive) if that object is difficult. Otherwise it
    is a false positive, and that includes a second detection of a matched object. Recall
    counts the non-difficult objects.

    A class without non-difficult objects has no recall, so its AP is undefined: it is
    reported as NaN and left out of the mAP. This covers a class seen only in detections,
    or only on difficult objects. (The devkit's 11-point AP would be 0 there.) A class with
    objects but no detections has AP 0.

    Args:
        detections: Iterable of (image_id, class_name, score, x1, y1, x2, y2), boxes in the
            library's convention (see `keras_prelu.detection.boxes`).
        annotations: Mapping image_id -> list of (class_name, (x1, y1, x2, y2), difficult),
            every image of the test set (an empty list for an image without objects), boxes
            in the same convention as the detections.
        iou_threshold: Minimum IoU of a match, in (0, 1] (VOC: 0.5).
        use_07_metric: VOC 2007's 11-point AP (True, Table 8's metric) or the area under
            the precision envelope of VOC 2010 and later (False).

    Returns:
        A dict: "ap", class name -> AP (NaN for a class without non-difficult objects);
        "map", the mean AP over the classes whose AP is defined (NaN if none is);
        "precision" and "recall", class name -> (D,) float64 arrays after each of the
        class's D detections by rank, for PR plots. Precision is NaN where only
        difficult matches have been seen yet; recall is NaN for a class without
        non-difficult objects.

    Raises:
        ValueError: If a detection's image is not in `annotations` (the devkit's
            "unrecognized image"), a score or box is not finite, or the threshold is
            outside (0, 1].

    Example:

    >>> annotations = {"000001": [("dog", (47, 239, 194, 370), False)], "000002": []}
    >>> detections = [("000001", "dog", 0.9, 50, 240, 190, 370),
    ...               ("000002", "dog", 0.8, 10, 10, 100, 100)]
    >>> result = evaluate_voc(detections, annotations)  # a hit, then a false positive
    >>> round(result["ap"]["dog"], 6), result["precision"]["dog"], result["recall"]["dog"]
    (1.0, array([1. , 0.5]), array([1., 1.]))
    """
    if not 0 < iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}.")
    truth = {}  # class -> image -> ([boxes], [difficult])
    for image_id, objects in annotations.items():
        for class_name, box, difficult in objects:
            boxes, flags = truth.setdefault(class_name, {}).setdefault(image_id, ([], []))
            boxes.append(box)
            flags.append(bool(difficult))
    ranked = {}  # class -> [(image_id, score, box)]
    for index, (image_id, class_name, score, *box) in enumerate(detections):
        if image_id not in annotations:
            raise ValueError(
                f"evaluate_voc: detection {index} is for image {image_id!r}, which is not in "
                "annotations (the devkit's 'unrecognized image'); list every test image "
                "there, with [] for one without objects."
            )
        if not (math.isfinite(score) and all(math.isfinite(v) for v in box)):
            raise ValueError(f"evaluate_voc: detection {index} ({image_id!r}, {class_name!r}) "
                             f"has a non-finite score or box: {score}, {box}.")
        ranked.setdefault(class_name, []).append((image_id, score, box))

    result = {"ap": {}, "precision": {}, "recall": {}}
    for class_name in sorted(set(truth) | set(ranked)):
        precision, recall = _precision_recall(
            ranked.get(class_name, []), truth.get(class_name, {}), iou_threshold)
        result["precision"][class_name] = precision
        result["recall"][class_name] = recall
        result["ap"][class_name] = (
            average_precision(recall, precision, use_07_metric)
            if _positives(truth.get(class_name, {})) else math.nan)
    defined_aps = [ap for ap in result["ap"].values() if not math.isnan(ap)]
    result["map"] = float(np.mean(defined_aps)) if defined_aps else math.nan
    return result


def _positives(objects):
    """Number of non-difficult objects of one class: VOCevaldet's npos."""
    return sum(len(flags) - sum(flags) for _, flags in objects.values())


def _precision_recall(detections, objects, iou_threshold):
    """VOCevaldet's cumulative precision and recall for one class, by descending score."""
    scores = np.array([score for _, score, _ in detections], np.float64)
    order = np.argsort(-scores, kind="stable")  # MATLAB's sort(-confidence) is stable
    images = [detections[i][0] for i in order]
    boxes = np.array([detections[i][2] for i in order], np.float64).reshape(-1, 4)

    # Every object of the class gets a global index; the devkit assigns each detection to
    # the best-overlapping object of its image whether or not that object is taken.
    offsets, difficult, start = {}, [], 0
    for image_id, (_, flags) in objects.items():
        offsets[image_id] = start
        difficult.extend(flags)
        start += len(flags)
    difficult = np.array(difficult, bool)
    best_iou = np.full(len(images), -np.inf)
    best = np.zeros(len(images), np.int64)
    by_image = {}
    for position, image_id in enumerate(images):
        by_image.setdefault(image_id, []).append(position)
    for image_id, positions in by_image.items():
        if image_id not in objects:
            continue
        iou = box_iou(boxes[positions], objects[image_id][0])
        # argmax keeps the first of equal maxima, as VOCevaldet's `if ov > ovmax`.
        column = iou.argmax(axis=1)
        best_iou[positions] = iou[np.arange(len(positions)), column]
        best[positions] = offsets[image_id] + column

    matched = best_iou >= iou_threshold
    counted = matched.copy()
    counted[matched] = ~difficult[best[matched]]
    # The first counted detection of an object (by rank) is a hit, later ones duplicates.
    counted_positions = np.flatnonzero(counted)
    _, first = np.unique(best[counted_positions], return_index=True)
    tp = np.zeros(len(images), bool)
    tp[counted_positions[first]] = True
    fp = ~matched | (counted & ~tp)
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    positives = _positives(objects)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / (tp + fp)
        recall = tp / positives if positives else np.full(len(images), np.nan)
    return precision, recall
