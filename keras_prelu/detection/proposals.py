"""Object proposals for Fast R-CNN: selective search (fast mode), computed once and cached.

Fast R-CNN trains and tests on the selective search boxes that R-CNN computed
(rcnn/selective_search/selective_search_boxes.m, Uijlings et al.'s "fast" mode: HSV and Lab
colour, Felzenszwalb-Huttenlocher k = 50 and 100, sigma 0.8, two similarity strategies),
about 2,000 per VOC image. This module uses OpenCV's implementation,
`cv2.ximgproc.segmentation` in `switchToSelectiveSearchFast` mode (HSV and Lab, the same two
strategies, sigma 0.8). OpenCV's default k = 150, 300, 450 makes larger segments: on six
photographs resized to 500 x 375 it gave 340-1,430 boxes with both sides >= 20 px. With
k = 50, 100, 150 (SS_BASE_K, SS_INC_K) it gave 1,340-2,460, close to the ~2,000 of Fast
R-CNN's proposals.

Post-processing, in order:
  * OpenCV's (x, y, w, h) become (x, y, x + w - 1, y + h - 1), the library's 0-based
    inclusive boxes (keras_prelu.detection.boxes).
  * Boxes with a side under MIN_PROPOSAL_SIZE = 20 px are dropped, as R-CNN's
    FilterBoxesWidth(boxes, minBoxWidth = 20) did for the proposals Fast R-CNN used.
    py-faster-rcnn's later filter_small_boxes(min_size=2) (lib/datasets/ds_utils.py) keeps
    boxes 3 px wide or 4 px tall: it tests x2 - x1 >= 2 but y2 - y1 > 2.
  * Repeated boxes are removed, keeping the first (Fast R-CNN's ds_utils.unique_boxes, here
    by exact comparison rather than its hash, which can collide above 1,000 px).
  * The first MAX_PROPOSALS = 2,000 are kept. OpenCV's order ranks the boxes by
    Uijlings et al.'s pseudo-random priority (hierarchy level times a random number from
    C's rand()). The C library's generator is reset with srand(1) before each image, so an
    image's proposals do not depend on which process computed them or what ran before.

User-supplied proposals (`load_proposals`) are an .npz archive that maps each image id to an
(N, 4) array of (x1, y1, x2, y2) boxes in VOC's 1-based pixels, like VOC's annotations and
Fast R-CNN's selective_search_data/*.mat. Those .mat files hold (y1, x1, y2, x2) per image,
in the image set's order. To convert one:

    import numpy as np, scipy.io
    mat = scipy.io.loadmat("selective_search_data/voc_2007_test.mat")
    ids = open("VOCdevkit/VOC2007/ImageSets/Main/test.txt").read().split()
    np.savez("voc_2007_test.npz", **{image_id: boxes[:, (1, 0, 3, 2)]
                                     for image_id, boxes in zip(ids, mat["boxes"].ravel())})

Loaded proposals are used as given: no size filter, de-duplication or limit.
"""

import ctypes
import functools
import hashlib
import multiprocessing
import os
import zipfile
from pathlib import Path

import cv2
import keras
import numpy as np

from keras_prelu.data.errors import CorruptImageError, DataFormatError
from keras_prelu.detection.boxes import from_voc

MAX_PROPOSALS = 2000
MIN_PROPOSAL_SIZE = 20
# OpenCV's fast mode segments at k = SS_BASE_K + i * SS_INC_K for i = 0, 1, 2.
SS_BASE_K = 50
SS_INC_K = 50
# The settings a cache entry depends on, hashed with the image's bytes.
CACHE_TAG = (f"selective-search-fast k={SS_BASE_K}+{SS_INC_K} min={MIN_PROPOSAL_SIZE} "
             f"max={MAX_PROPOSALS} srand=1 opencv={cv2.__version__}")
_REPORTED = 10  # images named in a proposals file's error
_LIBC = ctypes.CDLL(None)


def boxes_from_opencv(rects):
    """OpenCV's selective search rects as proposals: converted, filtered, unique, capped.

    Args:
        rects: (N, 4) (x, y, w, h) from `SelectiveSearchSegmentation.process()`, ranked.

    Returns:
        (M, 4) float32 boxes (x1, y1, x2, y2) in the library's convention, M <= 2,000, in
        OpenCV's order: both sides >= 20 px, each box once.

    Example:

    >>> boxes_from_opencv([[0, 0, 30, 20], [5, 5, 10, 40], [0, 0, 30, 20]])
    array([[ 0.,  0., 29., 19.]], dtype=float32)
    """
    rects = np.asarray(rects, np.float32).reshape(-1, 4)
    # R-CNN's FilterBoxesWidth: both sides at least minBoxWidth pixels.
    rects = rects[(rects[:, 2] >= MIN_PROPOSAL_SIZE) & (rects[:, 3] >= MIN_PROPOSAL_SIZE)]
    # Fast R-CNN's ds_utils.xywh_to_xyxy.
    boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:] - 1], axis=1)
    # ds_utils.unique_boxes: the first of each repeated box, order kept.
    _, first = np.unique(boxes, axis=0, return_index=True)
    return boxes[np.sort(first)][:MAX_PROPOSALS]


def _search(bgr):
    """Selective search proposals of a BGR uint8 image."""
    _LIBC.srand(1)  # OpenCV ranks regions with rand(): the same ranks for the same image
    search = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    search.setBaseImage(bgr)
    search.switchToSelectiveSearchFast(SS_BASE_K, SS_INC_K)
    return boxes_from_opencv(search.process())


def selective_search(image):
    """Selective search proposals of one image, as Fast R-CNN used them (module docstring).

    Resets the C library's random generator (srand(1)) first, which OpenCV's ranking uses.

    Args:
        image: (H, W, 3) uint8 RGB image (as `tf.io.decode_jpeg` gives).

    Returns:
        (N, 4) float32 boxes (x1, y1, x2, y2) in the library's 0-based inclusive pixels,
        N <= 2,000, ranked, both sides >= 20 px, no box twice.

    Raises:
        ValueError: If the image is not (H, W, 3) uint8.

    Example:

    >>> import skimage.data
    >>> boxes = selective_search(skimage.data.chelsea())  # (N, 4) inside 451 x 300
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"selective_search: expected an (H, W, 3) uint8 RGB image, got "
                         f"{image.shape} {image.dtype}.")
    return _search(np.ascontiguousarray(image[..., ::-1]))


def _cached_proposals(path, cache_dir):
    """One image file's proposals, from the cache or computed and cached (in a worker)."""
    data = Path(path).read_bytes()
    entry = Path(cache_dir) / f"{hashlib.sha256(CACHE_TAG.encode() + data).hexdigest()}.npy"
    if entry.exists():
        try:
            return np.load(entry)
        except (OSError, ValueError) as error:
            raise DataFormatError(f"{entry}: unreadable cached proposals of {path} ({error}); "
                                  "delete the file to compute them again.") from error
    # TF's decode_jpeg ignores EXIF orientation; so does this, so the boxes fit its pixels.
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8),
                       cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        raise CorruptImageError(f"{path}: OpenCV cannot decode this image; replace or "
                                "remove it.")
    boxes = _search(bgr)
    partial = entry.with_name(f"{entry.stem}.{os.getpid()}.tmp")
    with open(partial, "wb") as file:
        np.save(file, boxes)
    os.replace(partial, entry)  # atomic: another worker or run never reads half a file
    return boxes


def _init_worker():
    cv2.setNumThreads(1)  # one image per core; OpenCV's own threads would oversubscribe


def compute_proposals(images, cache_dir, workers=None, verbose=1):
    """Selective search proposals of many images, in parallel, cached on disk.

    Each image's proposals are computed once and stored in `cache_dir` under a hash of the
    image file's bytes and the settings (CACHE_TAG, which includes OpenCV's version). An
    unchanged image is read back, even under another path or id; a changed image (or new
    settings or OpenCV) is recomputed. Images are processed by a pool of worker processes
    (multiprocessing's "forkserver"; the first pool of a session takes ~6 s to import
    TensorFlow once), one per core, each with one OpenCV thread. The results equal
    `selective_search` on each image, whatever the number of workers.

    Args:
        images: Mapping image id -> path of the image file (any format OpenCV reads).
        cache_dir: Directory of the cache, created if missing.
        workers: Worker processes; default: the cores this process may use.
        verbose: 1 shows a `keras.utils.Progbar`, 0 is silent.

    Returns:
        A dict image id -> (N, 4) float32 proposals (x1, y1, x2, y2), the library's
        convention, in the order of `images`.

    Raises:
        CorruptImageError: If OpenCV cannot decode an image.
        DataFormatError: If a cache entry is unreadable.

    Example:

    >>> proposals = compute_proposals({"000005": "VOC2007/JPEGImages/000005.jpg"},
    ...                               "cache/proposals")  # doctest: +SKIP
    """
    ids = list(images)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    progress = keras.utils.Progbar(len(ids), verbose=verbose, unit_name="image")
    workers = min(workers or len(os.sched_getaffinity(0)), max(len(ids), 1))
    # A forked worker inherits OpenCV's thread pool without its threads and hangs once this
    # process has used OpenCV; spawned workers each import TensorFlow again (~10 s). The fork
    # server imports this module once and forks clean workers from it.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    proposals = {}
    with context.Pool(workers, initializer=_init_worker) as pool:
        work = functools.partial(_cached_proposals, cache_dir=cache_dir)
        for count, boxes in enumerate(pool.imap(work, [images[i] for i in ids]), start=1):
            proposals[ids[count - 1]] = boxes
            progress.update(count)
    return proposals


def _box_problem(boxes, height, width):
    """What is wrong with one image's proposals (VOC's 1-based pixels), or None."""
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        return f"shape {boxes.shape}, not (N, 4)"
    if not (np.issubdtype(boxes.dtype, np.integer) or np.issubdtype(boxes.dtype, np.floating)):
        return f"dtype {boxes.dtype}, not numbers"
    boxes = boxes.astype(np.float64)
    x1, y1, x2, y2 = boxes.T
    checks = (
        (~np.all(np.isfinite(boxes), axis=1), "NaN or infinite"),
        ((x2 < x1) | (y2 < y1), "inverted (x2 < x1 or y2 < y1)"),
        ((x1 < 1) | (y1 < 1) | (x2 > width) | (y2 > height),
         f"outside the {width} x {height} image (1 <= x1, x2 <= {width}; "
         f"1 <= y1, y2 <= {height})"),
    )
    for bad, what in checks:
        rows = np.flatnonzero(bad)
        if rows.size:
            return f"{rows.size} boxes {what}, e.g. row {rows[0]}: {boxes[rows[0]].tolist()}"
    return None


def load_proposals(path, image_sizes):
    """User-supplied proposals from an .npz file, validated, in the library's convention.

    The format is an .npz archive (`np.savez(path, **{image_id: boxes})`) mapping each image
    id to an (N, 4) array of (x1, y1, x2, y2) in VOC's 1-based, inclusive pixels, inside
    the image: 1 <= x1 <= x2 <= width, 1 <= y1 <= y2 <= height. The module docstring shows
    how to convert Fast R-CNN's selective_search_data .mat files. Ids in the file that
    `image_sizes` does not list are ignored.

    Args:
        path: The .npz file.
        image_sizes: Mapping image id -> (height, width) of every image that needs
            proposals.

    Returns:
        A dict image id -> (N, 4) float32 boxes in the library's 0-based convention
        (`from_voc`), in the order of `image_sizes`.

    Raises:
        FileNotFoundError: If `path` does not exist.
        DataFormatError: If the file is not an .npz archive, or any listed image is missing
            or has boxes that are not an (N, 4) array of numbers, or are NaN, infinite,
            inverted or outside the image. One error names every such image (the first
            10) and its problem.

    Example:

    >>> proposals = load_proposals("voc_2007_test.npz",
    ...                            {"000001": (500, 353)})  # doctest: +SKIP
    """
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataFormatError(f"{path}: not an .npz archive of proposals ({error}).") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataFormatError(f"{path}: holds one array, not an .npz archive mapping image ids "
                              "to proposals.")
    proposals, problems = {}, []
    with archive:
        for image_id, (height, width) in image_sizes.items():
            if image_id not in archive.files:
                problems.append(f"{image_id}: missing")
                continue
            try:
                boxes = archive[image_id]
            except ValueError as error:  # e.g. an object array, which needs pickle
                problems.append(f"{image_id}: unreadable ({error})")
                continue
            problem = _box_problem(boxes, height, width)
            if problem:
                problems.append(f"{image_id}: {problem}")
            else:
                proposals[image_id] = from_voc(boxes)
    if problems:
        listed = "; ".join(problems[:_REPORTED])
        if len(problems) > _REPORTED:
            listed += f"; and {len(problems) - _REPORTED} more"
        raise DataFormatError(
            f"{path}: unusable proposals for {len(problems)} of {len(image_sizes)} images "
            "(expected (N, 4) boxes (x1, y1, x2, y2) in VOC's 1-based pixels, inside the "
            f"image): {listed}."
        )
    return proposals
