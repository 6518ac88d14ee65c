import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_prelu.detection import (
    BBOX_STDS,
    box_iou,
    clip_boxes,
    decode_boxes,
    encode_boxes,
    from_voc,
    nms,
)

RNG = np.random.default_rng(7)
KBB = keras.utils.bounding_boxes


def random_boxes(count, size=60.0, integer=False):
    """Boxes of every kind: overlapping, disjoint, touching, one pixel wide, fractional."""
    x1 = RNG.uniform(0, size, count)
    y1 = RNG.uniform(0, size, count)
    x2 = x1 + RNG.uniform(0, size / 2, count)
    y2 = y1 + RNG.uniform(0, size / 2, count)
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    if integer:
        boxes = np.round(boxes)
    boxes[0] = [10, 10, 10, 10]  # a single pixel
    boxes[1] = [11, 10, 20, 15]  # touches box 0: no shared pixel
    return boxes


def reference_overlaps(boxes, query_boxes):
    """Fast R-CNN's utils/cython_bbox.pyx bbox_overlaps, loop by loop."""
    overlaps = np.zeros((len(boxes), len(query_boxes)))
    for k, q in enumerate(query_boxes):
        box_area = (q[2] - q[0] + 1) * (q[3] - q[1] + 1)
        for n, b in enumerate(boxes):
            iw = min(b[2], q[2]) - max(b[0], q[0]) + 1
            if iw > 0:
                ih = min(b[3], q[3]) - max(b[1], q[1]) + 1
                if ih > 0:
                    ua = float((b[2] - b[0] + 1) * (b[3] - b[1] + 1) + box_area - iw * ih)
                    overlaps[n, k] = iw * ih / ua
    return overlaps


def reference_transform(ex_rois, gt_rois):
    """py-faster-rcnn's lib/fast_rcnn/bbox_transform.py bbox_transform, box by box."""
    targets = []
    for ex, gt in zip(ex_rois, gt_rois, strict=True):
        ew, eh = ex[2] - ex[0] + 1.0, ex[3] - ex[1] + 1.0
        gw, gh = gt[2] - gt[0] + 1.0, gt[3] - gt[1] + 1.0
        ex_cx, ex_cy = ex[0] + 0.5 * ew, ex[1] + 0.5 * eh
        gt_cx, gt_cy = gt[0] + 0.5 * gw, gt[1] + 0.5 * gh
        targets.append([(gt_cx - ex_cx) / ew, (gt_cy - ex_cy) / eh,
                        np.log(gw / ew), np.log(gh / eh)])
    return np.array(targets)


def py_faster_rcnn_transform_inv(boxes, deltas):
    """py-faster-rcnn's bbox_transform_inv for one class, box by box (no - 1 on x2, y2)."""
    out = []
    for b, (dx, dy, dw, dh) in zip(boxes, deltas, strict=True):
        w, h = b[2] - b[0] + 1.0, b[3] - b[1] + 1.0
        cx, cy = b[0] + 0.5 * w, b[1] + 0.5 * h
        px, py, pw, ph = dx * w + cx, dy * h + cy, np.exp(dw) * w, np.exp(dh) * h
        out.append([px - 0.5 * pw, py - 0.5 * ph, px + 0.5 * pw, py + 0.5 * ph])
    return np.array(out)


def reference_nms(dets, thresh):
    """Fast R-CNN's utils/nms.pyx in float32, with ties visited in input order."""
    dets = dets.astype(np.float32)
    x1, y1, x2, y2, scores = dets.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = sorted(range(len(dets)), key=lambda i: -scores[i])
    suppressed = [False] * len(dets)
    keep = []
    for _i, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[_i + 1:]:
            if suppressed[j]:
                continue
            w = max(np.float32(0), min(x2[i], x2[j]) - max(x1[i], x1[j]) + np.float32(1))
            h = max(np.float32(0), min(y2[i], y2[j]) - max(y1[i], y1[j]) + np.float32(1))
            inter = np.float32(w * h)
            ovr = np.float32(inter / (areas[i] + areas[j] - inter))
            if float(ovr) >= thresh:
                suppressed[j] = True
    return keep


def test_from_voc_subtracts_one():
    np.testing.assert_array_equal(from_voc([[1, 1, 500, 375], [48, 240, 195, 371]]),
                                  [[0, 0, 499, 374], [47, 239, 194, 370]])


@pytest.mark.parametrize("integer", [True, False])
def test_iou_is_fast_rcnn_bbox_overlaps_bit_for_bit(integer):
    boxes, query = random_boxes(40, integer=integer), random_boxes(30, integer=integer)
    got = box_iou(boxes, query)
    np.testing.assert_array_equal(got, reference_overlaps(boxes, query))
    assert got.dtype == np.float64 and got.shape == (40, 30)
    assert got[0, 0] == 1.0 and got[0, 1] == 0.0  # a pixel overlaps itself; touching: 0
    assert box_iou(np.zeros((0, 4)), query).shape == (0, 30)


def test_iou_counts_pixels_unlike_keras_compute_iou():
    # 10 x 10 and 10 x 5 pixels sharing 50: IoU 0.5. Keras's "xyxy" corners are continuous
    # (9 x 9 and 9 x 4 units): 36 / 81.
    gt, det = np.array([[0, 0, 9, 9]], float), np.array([[0, 0, 9, 4]], float)
    assert box_iou(det, gt)[0, 0] == 0.5
    np.testing.assert_allclose(np.asarray(KBB.compute_iou(det, gt, "xyxy")), [[36 / 81]],
                               rtol=1e-6)
    # On half-open boxes (x2 + 1, y2 + 1) Keras agrees to float32 rounding...
    boxes, query = random_boxes(40), random_boxes(30)
    half_open = np.array([0, 0, 1, 1])
    keras_iou = np.asarray(KBB.compute_iou(boxes + half_open, query + half_open, "xyxy"))
    np.testing.assert_allclose(keras_iou, box_iou(boxes, query), atol=2e-6)
    # ...but its epsilon in the union keeps a one-pixel box from overlapping itself fully.
    pixel = np.array([[10, 10, 10, 10]], float)
    assert box_iou(pixel, pixel)[0, 0] == 1.0
    assert np.asarray(KBB.compute_iou(pixel + half_open, pixel + half_open, "xyxy"))[0, 0] < 1


def test_encode_is_bbox_transform_normalised():
    rois, gt = random_boxes(50), random_boxes(50)
    got = encode_boxes(rois, gt)
    assert got.dtype == np.float32 and got.shape == (50, 4)
    np.testing.assert_allclose(got, reference_transform(rois, gt) / BBOX_STDS, rtol=1e-6,
                               atol=1e-6)
    means, stds = (0.1, -0.2, 0.3, 0.0), (1.0, 2.0, 0.5, 0.25)
    np.testing.assert_allclose(encode_boxes(rois, gt, means, stds),
                               (reference_transform(rois, gt) - means) / stds, rtol=1e-6,
                               atol=1e-6)


def test_encode_differs_from_keras_deltas_by_the_pixel_convention():
    rois, gt = random_boxes(30, integer=True)[2:], random_boxes(30, integer=True)[2:]
    ours = encode_boxes(rois, gt)
    half_open = np.array([0, 0, 1, 1])
    keras_half_open = np.asarray(KBB.encode_box_to_deltas(
        rois + half_open, gt + half_open, "xyxy", "xyxy", "center_xywh", variance=BBOX_STDS))
    np.testing.assert_allclose(keras_half_open, ours, rtol=1e-4, atol=1e-4)
    keras_inclusive = np.asarray(KBB.encode_box_to_deltas(
        rois, gt, "xyxy", "xyxy", "center_xywh", variance=BBOX_STDS))
    assert np.abs(keras_inclusive - ours).max() > 0.1


@pytest.mark.parametrize("boxes", [[[5, 5, 3, 9]], [[5, 5, 9, 3.5]]])
def test_encode_rejects_boxes_without_pixels(boxes):
    with pytest.raises(ValueError, match="cover a pixel"):
        encode_boxes(boxes, [[0, 0, 9, 9]])


def test_decode_inverts_encode_for_every_class_and_in_a_graph():
    classes = 3
    rois = random_boxes(40)
    gts = [random_boxes(40) for _ in range(classes)]
    deltas = np.concatenate([encode_boxes(rois, gt) for gt in gts], axis=1)  # (R, 4K)
    want = np.concatenate(gts, axis=1)
    got = np.asarray(decode_boxes(rois, deltas))
    assert got.shape == (40, 4 * classes) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=2e-4)
    # In a graph whose number of rois is unknown until run time.
    graph = tf.function(decode_boxes, input_signature=[tf.TensorSpec([None, 4], "float32"),
                                                      tf.TensorSpec([None, 12], "float32")])
    np.testing.assert_allclose(np.asarray(graph(rois.astype("float32"), deltas)), got, rtol=1e-6)


def test_decode_is_py_faster_rcnn_inverse_less_one_pixel_on_x2_y2():
    rois = random_boxes(30)
    deltas = RNG.normal(0, 1, (30, 4)).astype("float32")
    theirs = py_faster_rcnn_transform_inv(rois, deltas * np.array(BBOX_STDS))
    got = np.asarray(decode_boxes(rois, deltas))
    np.testing.assert_allclose(got, theirs - [0, 0, 1, 1], atol=2e-4)
    # Zero deltas return the proposal itself; py-faster-rcnn's grows it by a pixel.
    np.testing.assert_allclose(np.asarray(decode_boxes([[0, 0, 9, 9]], np.zeros((1, 4)))),
                               [[0, 0, 9, 9]])
    np.testing.assert_allclose(py_faster_rcnn_transform_inv([[0, 0, 9, 9]], np.zeros((1, 4))),
                               [[0, 0, 10, 10]])


def test_decode_needs_four_deltas_per_class():
    with pytest.raises(ValueError, match="4 per class"):
        decode_boxes(np.zeros((2, 4)), np.zeros((2, 6)))


def test_clip_to_image_as_py_faster_rcnn():
    boxes = RNG.uniform(-50, 550, (20, 8)).astype("float32")
    height, width = 375, 500
    want = boxes.copy()
    want[:, 0::2] = np.clip(want[:, 0::2], 0, width - 1)
    want[:, 1::2] = np.clip(want[:, 1::2], 0, height - 1)
    np.testing.assert_array_equal(np.asarray(clip_boxes(boxes, (height, width))), want)
    # With the image size known only at run time.
    clipped = tf.function(lambda b, h, w: clip_boxes(b, (h, w)))(
        boxes, tf.constant(height), tf.constant(width))
    np.testing.assert_array_equal(np.asarray(clipped), want)
    # Keras's clip_to_image_size keeps x2 <= width (continuous corners), not width - 1.
    keras_clipped = KBB.clip_to_image_size(
        {"boxes": boxes[:, :4], "labels": np.zeros(20)}, height=height, width=width)
    assert np.asarray(keras_clipped["boxes"])[:, 2].max() == width


def test_nms_is_fast_rcnn_greedy_per_class():
    boxes = random_boxes(300, size=80.0)
    boxes[2] = boxes[3]  # identical boxes with equal scores: the first is kept
    scores = np.round(RNG.uniform(0, 1, 300), 2)  # many ties
    scores[2] = scores[3]
    classes = RNG.integers(0, 3, 300)
    classes[2] = classes[3]
    got = nms(boxes, scores, classes, 0.3)
    want = []
    for c in range(3):
        members = np.flatnonzero(classes == c)
        dets = np.concatenate([boxes[members], scores[members, None]], axis=1)
        want.extend(members[reference_nms(dets, 0.3)])
    want = sorted(want, key=lambda i: (-scores[i], i))
    np.testing.assert_array_equal(got, want)
    assert 2 in got and 3 not in got
    assert got.dtype == np.int64


def test_nms_suppresses_at_the_threshold_and_counts_pixels_unlike_tf_image():
    scores = np.array([0.9, 0.8])

    def tf_nms(boxes):
        yxyx = np.asarray(boxes, "float32")[:, [1, 0, 3, 2]]
        return np.asarray(tf.image.non_max_suppression(yxyx, scores, 10, iou_threshold=0.3))

    # 10 x 10 and 10 x 3 pixels sharing 30: IoU exactly 0.3, which Fast R-CNN suppresses.
    # tf.image, even on half-open boxes of the same IoU, suppresses only IoU > 0.3.
    at_threshold = np.array([[0, 0, 9, 9], [0, 0, 9, 2]])
    np.testing.assert_array_equal(nms(at_threshold, scores, [0, 0]), [0])
    np.testing.assert_array_equal(tf_nms(at_threshold + [0, 0, 1, 1]), [0, 1])
    # Two 10 x 10 boxes 5 rows apart share 50 pixels: IoU 50 / 150 = 0.33 counting pixels;
    # as continuous corners (tf.image on the boxes as they are) 36 / 126 = 0.29.
    shifted = np.array([[0, 0, 9, 9], [0, 5, 9, 14]])
    np.testing.assert_array_equal(nms(shifted, scores, [0, 0]), [0])
    np.testing.assert_array_equal(tf_nms(shifted), [0, 1])
    # Boxes of different classes never suppress each other.
    np.testing.assert_array_equal(nms(at_threshold, scores, [0, 1]), [0, 1])


def test_nms_validates():
    with pytest.raises(ValueError, match="finite"):
        nms([[0, 0, np.nan, 9]], [0.5], [1])
    with pytest.raises(ValueError, match="scores and classes"):
        nms([[0, 0, 9, 9]], [0.5, 0.4], [1])
    assert nms(np.zeros((0, 4)), [], []).shape == (0,)
