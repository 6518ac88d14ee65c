"""Fast R-CNN's test: detections of a `FastRCNN` on an image and its proposals, and the
VOC 2007 evaluation of a test set.

Per image (Fast R-CNN's lib/fast_rcnn/test.py `im_detect`, with py-faster-rcnn's
`test_net` limits): the image at the detector's scale, every proposal scored; each
proposal's class-specific box decoded from its deltas (`decode_boxes`) and clipped to the
image; for each class, the boxes scoring above `score_threshold` (0.05), suppressed per
class at IoU >= `nms_threshold` (0.3, `nms`); then the `max_detections` (100) best of
the image over all classes.
"""

from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from keras_prelu.detection.boxes import NMS_THRESHOLD, clip_boxes, decode_boxes, nms
from keras_prelu.detection.data import image_scale, read_image, resize
from keras_prelu.detection.voc_eval import evaluate_voc

SCORE_THRESHOLD = 0.05  # py-faster-rcnn's test_net thresh
MAX_DETECTIONS = 100  # py-faster-rcnn's max_per_image


class Detections(NamedTuple):
    """One image's detections, by descending score.

    Attributes:
        boxes: (D, 4) float32 (x1, y1, x2, y2), 0-based pixels of the original image.
        scores: (D,) float32 class probabilities.
        labels: (D,) int64 class indices, 0 .. K - 1.
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


def _roi_function(model):
    """A `tf.function` of the model on one image of any size and any number of rois."""
    channels = model.trunk.inputs[0].shape[-1]

    @tf.function(input_signature=[tf.TensorSpec((1, None, None, channels), tf.float32),
                                  tf.TensorSpec((1, None, 4), tf.float32)])
    def predict(images, rois):
        shape = tf.shape(images)[1:3][None]
        outputs = model({"images": images, "image_shape": shape, "rois": rois}, training=False)
        return outputs["scores"][0], outputs["deltas"][0]

    return predict


def postprocess(proposals, scores, deltas, image_shape, *, score_threshold=SCORE_THRESHOLD,
                nms_threshold=NMS_THRESHOLD, max_detections=MAX_DETECTIONS):
    """Detections from the scores and deltas of an image's proposals.

    Args:
        proposals: (R, 4) the proposals in the original image's pixels.
        scores: (R, K + 1) class probabilities (class 0: background).
        deltas: (R, 4 * (K + 1)) normalised deltas.
        image_shape: (height, width) of the original image.
        score_threshold: class scores at or below this are dropped (test_net's `>`).
        nms_threshold: per-class NMS IoU.
        max_detections: the image's best detections kept, over all classes.

    Returns:
        `Detections`.
    """
    scores = np.asarray(scores)
    boxes = keras.ops.convert_to_numpy(clip_boxes(decode_boxes(proposals, deltas), image_shape))
    rows, columns = np.nonzero(scores[:, 1:] > score_threshold)
    classes = columns + 1
    candidates = boxes.reshape(len(boxes), -1, 4)[rows, classes]
    confidence = scores[rows, classes]
    kept = nms(candidates, confidence, classes, nms_threshold)[:max_detections]
    return Detections(candidates[kept].astype(np.float32), confidence[kept].astype(np.float32),
                      (classes[kept] - 1).astype(np.int64))


def detect(model, image, proposals, **limits):
    """The detections of `model` on one image.

    Args:
        model: a `FastRCNN`.
        image: the image file's path, or its (H, W, C) float32 pixels as `read_image` gives.
        proposals: (R, 4) proposals, 0-based pixels of the image.
        **limits: `score_threshold`, `nms_threshold`, `max_detections` (see `postprocess`).

    Returns:
        `Detections` in the image's pixels.

    Example:

    >>> detections = detect(detector, "VOC2007/JPEGImages/000001.jpg", proposals["000001"])
    """
    return detect_all(model, {"image": image}, {"image": proposals}, **limits)["image"]


def detect_all(model, images, proposals, *, verbose=0, **limits):
    """The detections of `model` on many images (one compiled function for all).

    Args:
        model: a `FastRCNN`.
        images: {image id: path or float32 pixels (as `read_image` gives)}.
        proposals: {image id: (R, 4) proposals}.
        verbose: 1 shows a progress bar.
        **limits: `score_threshold`, `nms_threshold`, `max_detections`.

    Returns:
        {image id: `Detections`}, in the order of `images`.
    """
    predict = _roi_function(model)
    channels = model.trunk.inputs[0].shape[-1]
    progress = keras.utils.Progbar(len(images), verbose=verbose, unit_name="image")
    detections = {}
    for count, (image_id, image) in enumerate(images.items(), start=1):
        pixels = read_image(image, channels) if not isinstance(image, np.ndarray) else image
        height, width = pixels.shape[:2]
        boxes = np.asarray(proposals[image_id], np.float32).reshape(-1, 4)
        factor = image_scale(height, width, *model.image_scale)
        scores, deltas = predict(resize(pixels, factor)[None], (boxes * factor)[None])
        detections[image_id] = postprocess(boxes, scores.numpy(), deltas.numpy(),
                                           (height, width), **limits)
        progress.update(count)
    return detections


def voc_annotations(images, class_names):
    """`evaluate_voc`'s annotations of `DetectionImage`s: {id: [(class, box, difficult)]}."""
    return {image.image_id: [(class_names[label], tuple(box), bool(difficult))
                             for box, label, difficult in zip(image.boxes, image.labels,
                                                              image.difficult, strict=True)]
            for image in images}


def voc_detections(detections, class_names):
    """`evaluate_voc`'s detection rows of {id: `Detections`}: (id, class, score, x1, ..., y2)."""
    return [(image_id, class_names[label], float(score), *map(float, box))
            for image_id, found in detections.items()
            for box, score, label in zip(found.boxes, found.scores, found.labels, strict=True)]


def evaluate(detections, images, class_names):
    """VOC 2007's 11-point AP per class and mAP (`evaluate_voc`) of a test set's detections.

    Args:
        detections: {image id: `Detections`}.
        images: the test set's `DetectionImage`s (every image, with or without detections).
        class_names: the class of each label.

    Returns:
        `evaluate_voc`'s dict ("ap", "map", "precision", "recall").
    """
    return evaluate_voc(voc_detections(detections, class_names),
                        voc_annotations(images, class_names))
