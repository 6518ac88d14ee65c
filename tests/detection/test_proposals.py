import ctypes

import cv2
import numpy as np
import pytest

from keras_prelu.data import CorruptImageError, DataFormatError
from keras_prelu.detection import (
    MAX_PROPOSALS,
    boxes_from_opencv,
    compute_proposals,
    load_proposals,
    selective_search,
)

LIBC = ctypes.CDLL(None)


@pytest.fixture(scope="module")
def small_photos():
    """Three real photographs at 160 x 120 (selective search takes ~0.2 s on each)."""
    import skimage.data

    return [cv2.resize(getattr(skimage.data, name)(), (160, 120), interpolation=cv2.INTER_AREA)
            for name in ("chelsea", "coffee", "astronaut")]


def opencv_reference(rgb):
    """OpenCV's fast-mode selective search at k = 50, 100, 150 after srand(1), and R-CNN's
    post-processing written out: sides >= 20 px, 0-based inclusive corners, first of each
    repeated box, at most 2,000."""
    LIBC.srand(1)
    search = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    search.setBaseImage(np.ascontiguousarray(rgb[..., ::-1]))
    search.switchToSelectiveSearchFast(50, 50)
    boxes, seen = [], set()
    for x, y, w, h in search.process().tolist():
        box = (x, y, x + w - 1, y + h - 1)
        if w >= 20 and h >= 20 and box not in seen and len(boxes) < 2000:
            seen.add(box)
            boxes.append(box)
    return np.array(boxes, np.float32)


def decode(path):
    return cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)[..., ::-1]


def test_boxes_from_opencv_converts_filters_dedupes_and_caps():
    rects = [
        [10, 20, 30, 40],  # kept: (10, 20, 39, 59)
        [0, 0, 19, 50],  # 19 px wide: dropped
        [0, 0, 50, 19],  # 19 px tall: dropped
        [5, 6, 20, 20],  # 20 x 20: kept
        [10, 20, 30, 40],  # repeated: dropped
    ]
    np.testing.assert_array_equal(boxes_from_opencv(rects), [[10, 20, 39, 59], [5, 6, 24, 25]])
    many = [[i, 0, 20, 20] for i in range(MAX_PROPOSALS + 100)]
    boxes = boxes_from_opencv(many)
    assert boxes.shape == (MAX_PROPOSALS, 4) and boxes.dtype == np.float32
    np.testing.assert_array_equal(boxes[:, 0], np.arange(MAX_PROPOSALS))  # OpenCV's order
    assert boxes_from_opencv(np.zeros((0, 4), np.int32)).shape == (0, 4)


def test_selective_search_is_opencv_fast_mode_post_processed(small_photos):
    photo = small_photos[0]
    boxes = selective_search(photo)
    np.testing.assert_array_equal(boxes, opencv_reference(photo))
    assert boxes.dtype == np.float32 and 0 < len(boxes) <= MAX_PROPOSALS
    assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2] <= 159) and np.all(boxes[:, 3] <= 119)
    assert np.all(boxes[:, 2:] - boxes[:, :2] + 1 >= 20)
    # OpenCV ranks with C's rand(); the reset makes the result independent of its state.
    for _ in range(5):
        LIBC.rand()
    np.testing.assert_array_equal(selective_search(photo), boxes)


def test_selective_search_wants_rgb_uint8():
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        selective_search(np.zeros((40, 40), np.uint8))


def test_compute_proposals_in_parallel_with_a_content_keyed_cache(tmp_path, small_photos,
                                                                  capsys):
    paths = []
    for index, photo in enumerate(small_photos):
        paths.append(tmp_path / f"{index}.jpg")
        cv2.imwrite(str(paths[-1]), photo[..., ::-1])
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(paths[0].read_bytes())
    images = {"b": paths[1], "a": paths[0], "c": paths[2], "copy": copy}
    cache = tmp_path / "cache"
    want = {image_id: selective_search(decode(path)) for image_id, path in images.items()}

    first = compute_proposals(images, cache, workers=2)
    assert "4/4" in capsys.readouterr().out  # the progress bar
    assert list(first) == ["b", "a", "c", "copy"]
    for image_id in images:
        np.testing.assert_array_equal(first[image_id], want[image_id])
    entries = sorted(cache.iterdir())
    assert len(entries) == 3  # the copy shares its original's entry
    stamps = {entry: entry.stat().st_mtime_ns for entry in entries}

    again = compute_proposals(images, cache, workers=1, verbose=0)
    for image_id in images:
        np.testing.assert_array_equal(again[image_id], want[image_id])
    assert {entry: entry.stat().st_mtime_ns for entry in cache.iterdir()} == stamps  # reused

    # A changed image is recomputed; the others are still read from the cache.
    cv2.imwrite(str(paths[2]), np.ascontiguousarray(small_photos[0][::-1, :, ::-1]))
    changed = compute_proposals(images, cache, verbose=0)
    np.testing.assert_array_equal(changed["c"], selective_search(decode(paths[2])))
    assert not np.array_equal(changed["c"], want["c"])
    assert len(list(cache.iterdir())) == 4
    assert all(entry.stat().st_mtime_ns == stamp for entry, stamp in stamps.items())


def test_compute_proposals_names_an_undecodable_image(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(CorruptImageError, match="broken.jpg"):
        compute_proposals({"x": broken}, tmp_path / "cache", verbose=0)


SIZES = {"000001": (375, 500), "000002": (200, 100)}


def test_load_proposals_converts_to_zero_based(tmp_path):
    path = tmp_path / "proposals.npz"
    np.savez(path, **{"000002": np.array([[1, 1, 100, 200], [10.5, 20, 30, 40]]),
                      "000001": np.array([[1, 1, 500, 375]], np.uint16),
                      "999999": np.array([[0, 0, 0, 0]])})  # not asked for: ignored
    proposals = load_proposals(path, SIZES)
    assert list(proposals) == ["000001", "000002"]
    np.testing.assert_array_equal(proposals["000001"], [[0, 0, 499, 374]])
    np.testing.assert_array_equal(proposals["000002"], [[0, 0, 99, 199], [9.5, 19, 29, 39]])
    assert proposals["000002"].dtype == np.float32
    np.savez(path, **{"000001": np.zeros((0, 4)), "000002": np.zeros((0, 4))})
    assert load_proposals(path, SIZES)["000001"].shape == (0, 4)


@pytest.mark.parametrize(
    "boxes, problem",
    [
        (None, "000002: missing"),
        ([[1, 1, 10, 10], [1, np.nan, 10, 10]], "000002: 1 boxes NaN or infinite, e.g. row 1"),
        ([[1, 1, np.inf, 10]], "000002: 1 boxes NaN or infinite"),
        ([[1, 1, 10, 10], [20, 1, 10, 10]], "000002: 1 boxes inverted"),
        ([[1, 1, 10, 201]], "000002: 1 boxes outside the 100 x 200 image"),
        ([[0, 0, 10, 10]], "000002: 1 boxes outside"),  # 0-based by mistake
        ([[1, 1, 101, 10], [1, 1, 10, 10], [2, 2, 101, 10]], "000002: 2 boxes outside"),
        ([[1, 1, 10]], r"000002: shape \(1, 3\), not \(N, 4\)"),
        (np.array([["1", "1", "9", "9"]]), "000002: dtype <U1, not numbers"),
    ],
)
def test_load_proposals_names_the_image_and_the_problem(tmp_path, boxes, problem):
    path = tmp_path / "proposals.npz"
    arrays = {"000001": np.array([[1, 1, 500, 375]])}
    if boxes is not None:
        arrays["000002"] = np.asarray(boxes)
    np.savez(path, **arrays)
    with pytest.raises(DataFormatError, match=f"unusable proposals for 1 of 2 images.*{problem}"):
        load_proposals(path, SIZES)


def test_load_proposals_reports_every_bad_image_in_one_error(tmp_path):
    path = tmp_path / "proposals.npz"
    np.savez(path, **{"000001": np.array([[5, 5, 4, 9]])})
    with pytest.raises(DataFormatError, match="2 of 2 images.*000001: 1 boxes inverted.*"
                                              "000002: missing"):
        load_proposals(path, SIZES)


def test_load_proposals_needs_an_npz_archive(tmp_path):
    text = tmp_path / "proposals.txt"
    text.write_text("000001 1 1 10 10\n")
    with pytest.raises(DataFormatError, match="not an .npz archive"):
        load_proposals(text, SIZES)
    single = tmp_path / "proposals.npy"
    np.save(single, np.zeros((3, 4)))
    with pytest.raises(DataFormatError, match="one array"):
        load_proposals(single, SIZES)
    objects = tmp_path / "objects.npz"
    np.savez(objects, **{"000001": np.array([[1, 1, 5, 5]], object),
                         "000002": np.array([[1, 1, 5, 5]])})
    with pytest.raises(DataFormatError, match="000001: unreadable"):
        load_proposals(objects, SIZES)
    with pytest.raises(FileNotFoundError):
        load_proposals(tmp_path / "absent.npz", SIZES)
