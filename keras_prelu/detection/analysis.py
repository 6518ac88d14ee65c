"""What limits a detector's mAP, measured: proposal recall, and its top-ranked mistakes.

  * `proposal_recall`: the share of the test set's objects (not difficult) that some
    proposal covers at IoU >= 0.5. A Fast R-CNN detector only rescores and refines its
    proposals, so this bounds its recall (box regression can move a box over the line,
    rarely far).
  * `error_breakdown`: Hoiem, Chodpathumwan and Dai's (ECCV 2012) analysis of the
    detections that matter for AP. For each class with N objects (not difficult), its N
    best detections are sorted into: correct (a hit as VOC counts it), localisation (the
    right class on an object at IoU in [0.1, 0.5), or a second detection of an object
    already found), confusion (IoU >= 0.1 with an object of another class) and
    background (the rest). Detections matching a difficult object are ignored, as VOC
    ignores them.
"""

import numpy as np

from keras_prelu.detection.boxes import box_iou

RECALL_IOU = 0.5
NEAR_IOU = 0.1  # Hoiem et al.: a false positive at IoU >= 0.1 overlaps an object
KINDS = ("correct", "localisation", "confusion", "background")


def proposal_recall(images, proposals, iou_threshold=RECALL_IOU):
    """The share of non-difficult objects that a proposal covers at IoU >= `iou_threshold`.

    Args:
        images: `DetectionImage`s.
        proposals: {image id: (P, 4) proposals}.
        iou_threshold: the IoU an object needs.

    Returns:
        A float in [0, 1] (NaN without objects).
    """
    covered = total = 0
    for image in images:
        objects = image.boxes[~image.difficult]
        total += len(objects)
        boxes = proposals[image.image_id]
        if len(objects) and len(boxes):
            covered += int(np.sum(box_iou(objects, boxes).max(axis=1) >= iou_threshold))
    return covered / total if total else float("nan")


def error_breakdown(detections, images, num_classes):
    """The kinds of each class's N best detections (N: its non-difficult objects), summed.

    Args:
        detections: {image id: `Detections`} of the test set.
        images: the test set's `DetectionImage`s.
        num_classes: K.

    Returns:
        {kind: share of the detections looked at} for the `KINDS`, summing to 1.
    """
    counts = dict.fromkeys(KINDS, 0)
    by_id = {image.image_id: image for image in images}
    for label in range(num_classes):
        wanted = sum(int(np.sum((image.labels == label) & ~image.difficult)) for image in images)
        ranked = sorted(((float(score), image_id, box)
                         for image_id, found in detections.items()
                         for box, score, found_label in zip(found.boxes, found.scores,
                                                            found.labels, strict=True)
                         if found_label == label), key=lambda row: -row[0])
        found_objects = set()
        looked = 0
        for _, image_id, box in ranked:
            if looked == wanted:
                break
            kind = _kind(box, by_id[image_id], label, found_objects)
            if kind is not None:
                counts[kind] += 1
                looked += 1
    total = sum(counts.values())
    return {kind: count / total if total else float("nan") for kind, count in counts.items()}


def _kind(box, image, label, found_objects):
    """The kind of one detection of class `label` (None: it matches a difficult object)."""
    if not len(image.boxes):
        return "background"
    iou = box_iou(np.asarray(box)[None], image.boxes)[0]
    same = image.labels == label
    if same.any():
        best = int(np.argmax(np.where(same, iou, -1.0)))
        if iou[best] >= RECALL_IOU:
            if image.difficult[best]:
                return None
            if (image.image_id, best) in found_objects:
                return "localisation"
            found_objects.add((image.image_id, best))
            return "correct"
        if iou[best] >= NEAR_IOU:
            return "localisation"
    if np.any(~same & (iou >= NEAR_IOU)):
        return "confusion"
    return "background"
