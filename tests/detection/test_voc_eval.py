import math

import numpy as np
import pytest

from keras_prelu.detection import VOC07_RECALL_THRESHOLDS, average_precision, evaluate_voc

RNG = np.random.default_rng(11)

# MATLAB's 0:0.1:1 as the devkit sees it, written out: the 4th value is 0.1 * 3, the rest the
# doubles nearest to the decimals.
MATLAB_0_TO_1 = [0.0, 0.1, 0.2, 0.1 * 3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def nan_max(values):
    """MATLAB's max: NaNs skipped; the devkit's NaN for all-NaN is taken as 0 (see
    average_precision)."""
    values = [v for v in values if not math.isnan(v)]
    return max(values) if values else 0.0


def reference(detections, annotations, class_name, threshold=0.5, use_07_metric=True):
    """VOCevaldet.m (and VOCap.m for the area), statement by statement, for one class."""
    gt = {image: [{"bb": box, "diff": bool(diff), "det": False}
                  for name, box, diff in objects if name == class_name]
          for image, objects in annotations.items()}
    npos = sum(not g["diff"] for objects in gt.values() for g in objects)
    # [sc, si] = sort(-confidence): MATLAB's sort, like Python's, is stable.
    dets = sorted([d for d in detections if d[1] == class_name], key=lambda d: -d[2])
    tp, fp = [], []
    for image, _, _, *bb in dets:
        ovmax, jmax = -math.inf, None
        for j, g in enumerate(gt[image]):
            bbgt = g["bb"]
            iw = min(bb[2], bbgt[2]) - max(bb[0], bbgt[0]) + 1
            ih = min(bb[3], bbgt[3]) - max(bb[1], bbgt[1]) + 1
            if iw > 0 and ih > 0:
                ua = ((bb[2] - bb[0] + 1) * (bb[3] - bb[1] + 1)
                      + (bbgt[2] - bbgt[0] + 1) * (bbgt[3] - bbgt[1] + 1) - iw * ih)
                ov = iw * ih / ua
                if ov > ovmax:
                    ovmax, jmax = ov, j
        t = f = 0
        if ovmax >= threshold:
            g = gt[image][jmax]
            if not g["diff"]:
                if not g["det"]:
                    t, g["det"] = 1, True
                else:
                    f = 1
        else:
            f = 1
        tp.append(t)
        fp.append(f)
    tp, fp = np.cumsum(tp).tolist(), np.cumsum(fp).tolist()
    rec = [t / npos for t in tp] if npos else [math.nan] * len(tp)
    prec = [t / (t + f) if t + f else math.nan for t, f in zip(tp, fp, strict=True)]
    if not npos:
        return math.nan, prec, rec
    if use_07_metric:
        ap = 0.0
        for t in MATLAB_0_TO_1:
            ap += nan_max([p for r, p in zip(rec, prec, strict=True) if r >= t]) / 11
        return ap, prec, rec
    mrec, mpre = [0.0] + rec + [1.0], [0.0] + prec + [0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = nan_max([mpre[i], mpre[i + 1]])
    ap = sum((mrec[i] - mrec[i - 1]) * mpre[i] for i in range(1, len(mrec))
             if mrec[i] != mrec[i - 1])
    return ap, prec, rec


def random_case():
    """30 images, 4 classes: jittered hits, duplicates, misses, difficult objects, images
    without objects or detections, scores on a 0.05 grid (many ties)."""
    classes = ["cat", "dog", "horse", "person"]
    annotations, detections = {}, []
    for index in range(30):
        image = f"{index:06d}"
        objects = []
        if index % 7:  # every 7th image has no objects
            for _ in range(RNG.integers(1, 5)):
                x1, y1 = RNG.integers(0, 300, 2)
                box = (x1, y1, x1 + RNG.integers(10, 150), y1 + RNG.integers(10, 150))
                objects.append((str(RNG.choice(classes[:3])), box, RNG.uniform() < 0.2))
        annotations[image] = objects
        if index % 5 == 4:  # and every 5th no detections
            continue
        for name, box, _ in objects:
            for _ in range(RNG.integers(0, 3)):  # 0, 1 or 2 (a duplicate) detections each
                jitter = RNG.normal(0, 0.15 * (box[2] - box[0]), 4)
                detections.append((image, name, RNG.integers(0, 20) / 20,
                                   *(np.asarray(box) + jitter).tolist()))
        for _ in range(RNG.integers(0, 4)):  # false positives, also of the unseen "person"
            x1, y1 = RNG.uniform(0, 300, 2)
            detections.append((image, str(RNG.choice(classes)), RNG.integers(0, 20) / 20,
                               x1, y1, x1 + RNG.uniform(5, 100), y1 + RNG.uniform(5, 100)))
    order = RNG.permutation(len(detections))
    return [detections[i] for i in order], annotations


@pytest.mark.parametrize("threshold", [0.5, 0.7])
@pytest.mark.parametrize("use_07_metric", [True, False])
def test_matches_the_devkit_reference(threshold, use_07_metric):
    detections, annotations = random_case()
    result = evaluate_voc(detections, annotations, threshold, use_07_metric)
    assert set(result["ap"]) == {"cat", "dog", "horse", "person"}
    for name in ("cat", "dog", "horse"):
        ap, prec, rec = reference(detections, annotations, name, threshold, use_07_metric)
        assert result["ap"][name] == pytest.approx(ap, abs=1e-12)
        np.testing.assert_array_equal(result["precision"][name], prec)
        np.testing.assert_array_equal(result["recall"][name], rec)
    # "person" is only in detections: no recall, no AP, not in the mAP.
    assert math.isnan(result["ap"]["person"])
    assert np.all(np.isnan(result["recall"]["person"]))
    assert result["map"] == pytest.approx(np.mean([result["ap"][n] for n in ("cat", "dog",
                                                                              "horse")]))


def test_recall_thresholds_are_matlabs():
    assert VOC07_RECALL_THRESHOLDS == tuple(MATLAB_0_TO_1)
    assert VOC07_RECALL_THRESHOLDS != tuple(np.arange(0.0, 1.1, 0.1))  # py-faster-rcnn's


GT = {"a": [("dog", (0, 0, 9, 9), False)]}


def test_ties_keep_input_order():
    far = ("a", "dog", 0.9, 50, 50, 59, 59)
    hit = ("a", "dog", 0.9, 0, 0, 9, 9)
    # far first: precision [0, 1/2] at recall [0, 1]; the max precision at recall >= t is
    # 1/2 for every t, AP 1/2. hit first: precision [1, 1/2] at recall 1, AP 1.
    assert evaluate_voc([far, hit], GT)["ap"]["dog"] == pytest.approx(0.5)
    assert evaluate_voc([hit, far], GT)["ap"]["dog"] == pytest.approx(1.0)


def test_match_at_the_threshold_counts_pixels():
    # 10 x 5 pixels of a 10 x 10 object: IoU exactly 0.5, a hit (the devkit tests >=).
    # Without the +1 (continuous corners) it would be 36 / 81 = 0.44, a miss.
    result = evaluate_voc([("a", "dog", 0.9, 0, 0, 9, 4)], GT)
    np.testing.assert_array_equal(result["recall"]["dog"], [1.0])
    assert result["ap"]["dog"] == pytest.approx(1.0)
    # Just below: 10 x 4.99 pixels, IoU 0.499.
    result = evaluate_voc([("a", "dog", 0.9, 0, 0, 9, 3.99)], GT)
    np.testing.assert_array_equal(result["recall"]["dog"], [0.0])


def test_difficult_objects_and_duplicates():
    annotations = {
        "a": [("dog", (0, 0, 9, 9), False), ("dog", (100, 100, 139, 139), True)],
        "b": [],
    }
    detections = [
        ("a", "dog", 0.9, 100, 100, 139, 139),  # the difficult dog: ignored
        ("a", "dog", 0.8, 0, 0, 9, 9),  # hit
        ("a", "dog", 0.7, 101, 101, 139, 139),  # the difficult dog again: ignored again
        ("a", "dog", 0.6, 0, 0, 9, 8),  # the same dog again: a duplicate, false positive
        ("b", "dog", 0.5, 0, 0, 9, 9),  # an image without objects: false positive
    ]
    # npos = 1; tp 0 1 1 1 1, fp 0 0 0 1 2: precision NaN 1 1 1/2 1/3, recall 0 1 1 1 1.
    # Every t reaches recall 1 at precision 1: AP 1 (both metrics).
    for use_07_metric in (True, False):
        result = evaluate_voc(detections, annotations, use_07_metric=use_07_metric)
        np.testing.assert_allclose(result["precision"]["dog"], [np.nan, 1, 1, 1 / 2, 1 / 3])
        np.testing.assert_array_equal(result["recall"]["dog"], [0, 1, 1, 1, 1])
        assert result["ap"]["dog"] == pytest.approx(1.0)


def test_eleven_points_and_area_differ():
    annotations = {"a": [("cat", (0, 0, 9, 9), False), ("cat", (20, 0, 29, 9), False)],
                   "b": [("cat", (0, 0, 9, 9), False)]}
    detections = [
        ("a", "cat", 0.9, 0, 0, 9, 9),  # hit
        ("b", "cat", 0.8, 40, 40, 49, 49),  # false positive
        ("a", "cat", 0.7, 20, 0, 29, 9),  # hit
        ("a", "cat", 0.6, 60, 0, 69, 9),  # false positive; the object in b is never found
    ]
    # recall 1/3 1/3 2/3 2/3, precision 1 1/2 2/3 1/2.
    # 11 points: t = 0 .. 0.3 reach precision 1, t = 0.4 .. 0.6 reach 2/3, t >= 0.7 nothing:
    # (4 + 3 * 2/3) / 11 = 6/11. Area: envelope 1 up to recall 1/3, 2/3 up to 2/3, then 0:
    # 1/3 + 1/3 * 2/3 = 5/9.
    assert evaluate_voc(detections, annotations)["ap"]["cat"] == pytest.approx(6 / 11)
    assert evaluate_voc(detections, annotations, use_07_metric=False)["ap"]["cat"] == (
        pytest.approx(5 / 9))


@pytest.mark.parametrize("hits, want", [(3, 3 / 11), (6, 7 / 11)])
def test_eleven_points_use_matlab_thresholds(hits, want):
    # 10 objects, `hits` found at precision 1. Recall 3/10 falls short of MATLAB's 4th
    # threshold 0.1 * 3, so t = 0, 0.1, 0.2 count: 3/11 (4/11 if it were 0.3). Recall 6/10
    # reaches its 7th, exactly 0.6: t = 0 .. 0.6 count, 7/11 (np.arange's 0.6000000000000001
    # would give 6/11).
    annotations = {"a": [("cat", (20 * i, 0, 20 * i + 9, 9), False) for i in range(10)]}
    detections = [("a", "cat", 1 - i / 100, 20 * i, 0, 20 * i + 9, 9) for i in range(hits)]
    assert evaluate_voc(detections, annotations)["ap"]["cat"] == pytest.approx(want, abs=1e-15)


def test_classes_without_detections_or_without_objects():
    annotations = {"a": [("cat", (0, 0, 9, 9), False), ("dog", (20, 0, 29, 9), False),
                         ("cow", (40, 0, 49, 9), True)],
                   "b": []}
    detections = [("a", "cat", 0.9, 0, 0, 9, 9), ("a", "cow", 0.8, 40, 0, 49, 9),
                  ("b", "bird", 0.7, 0, 0, 9, 9)]
    result = evaluate_voc(detections, annotations)
    assert result["ap"]["cat"] == pytest.approx(1.0)
    assert result["ap"]["dog"] == 0.0  # objects, no detections
    assert result["precision"]["dog"].shape == (0,)
    assert math.isnan(result["ap"]["cow"])  # only a difficult object
    assert math.isnan(result["ap"]["bird"])  # no object at all
    assert result["map"] == pytest.approx(0.5)  # (1 + 0) / 2
    assert math.isnan(evaluate_voc([], {"a": []})["map"])


def test_average_precision_of_a_perfect_curve():
    assert average_precision([0.5, 1.0], [1.0, 1.0]) == pytest.approx(1.0)
    assert average_precision([0.5, 1.0], [1.0, 1.0], use_07_metric=False) == 1.0
    assert average_precision([], []) == 0.0


@pytest.mark.parametrize(
    "detection, match",
    [
        (("z", "dog", 0.9, 0, 0, 9, 9), "'z', which is not in annotations"),
        (("a", "dog", math.nan, 0, 0, 9, 9), "non-finite"),
        (("a", "dog", 0.9, 0, 0, math.inf, 9), "non-finite"),
    ],
)
def test_rejects_unusable_detections(detection, match):
    with pytest.raises(ValueError, match=match):
        evaluate_voc([detection], GT)


def test_rejects_threshold_outside_unit_interval():
    with pytest.raises(ValueError, match="iou_threshold"):
        evaluate_voc([], GT, iou_threshold=0)
