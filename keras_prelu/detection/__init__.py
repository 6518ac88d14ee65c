"""Fast R-CNN-style detection (the paper's Sec. 4, Table 8): boxes, proposals, the VOC metric.

Boxes are (x1, y1, x2, y2) in 0-based, inclusive pixels throughout, as inside Fast R-CNN:
`from_voc` converts VOC's 1-based annotations and proposal files (see
`keras_prelu.detection.boxes` for the convention and where each conversion happens).

  * `boxes`: Fast R-CNN's IoU, regression targets and their inverse, clipping, per-class NMS.
  * `proposals`: selective search in fast mode (OpenCV), parallel and cached, and
    user-supplied proposal files.
  * `voc_eval`: the VOC devkit's AP (11-point for VOC 2007) and mAP.
"""

from keras_prelu.detection.boxes import (
    BBOX_MEANS,
    BBOX_STDS,
    NMS_THRESHOLD,
    box_iou,
    clip_boxes,
    decode_boxes,
    encode_boxes,
    from_voc,
    nms,
)
from keras_prelu.detection.proposals import (
    MAX_PROPOSALS,
    MIN_PROPOSAL_SIZE,
    boxes_from_opencv,
    compute_proposals,
    load_proposals,
    selective_search,
)
from keras_prelu.detection.voc_eval import (
    VOC07_RECALL_THRESHOLDS,
    average_precision,
    evaluate_voc,
)

__all__ = [
    "BBOX_MEANS",
    "BBOX_STDS",
    "MAX_PROPOSALS",
    "MIN_PROPOSAL_SIZE",
    "NMS_THRESHOLD",
    "VOC07_RECALL_THRESHOLDS",
    "average_precision",
    "box_iou",
    "boxes_from_opencv",
    "clip_boxes",
    "compute_proposals",
    "decode_boxes",
    "encode_boxes",
    "evaluate_voc",
    "from_voc",
    "load_proposals",
    "nms",
    "selective_search",
]
