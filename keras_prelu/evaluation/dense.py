"""Dense multi-view testing on feature maps (Sec. 3, "Testing"; Tables 4 and 6).

The conv layers run once on the whole resized image; every `window` x `window` window of
the last conv map (stride 1) is pooled by the spatial pyramid, the fc layers score each
pooled window, and the scores are averaged over the windows and the horizontal flip.

Pooling every window at once: a pyramid level of n bins lays the same bins over each
window, at fixed offsets `bin_bounds(window, n)` with few distinct sizes (14 cells, level
3: sizes 5, 6, 5). A stride-1 max pool of each distinct size over the whole map holds the
max of every bin at every offset; one gather per axis picks each window's bins, and a
transpose puts them in `SpatialPyramidPooling`'s channel-major order.
"""

import numpy as np
from keras import ops

from keras_prelu.layers.spatial_pyramid_pooling import bin_bounds

# Pooled windows per call of the fc layers: bounds the head's working memory (a 480-px
# image gives model A ~900 windows of 63 x 512 features with its flip).
HEAD_BATCH = 256


def window_features(maps, levels, window):
    """The pyramid of every `window` x `window` window of conv maps, stride 1.

    Along an axis shorter than `window` the window is the whole map (Sec. 3: a map smaller
    than the window is pooled as one window).

    Args:
        maps: (B, H, W, C) conv maps.
        levels: The pyramid's bins per side, e.g. (7, 3, 2, 1).
        window: Window side in map cells (14 for model A's 224 crops).

    Returns:
        (B, rows, cols, C * sum(n * n)) tensor, rows = H - min(window, H) + 1 (cols alike):
        entry [b, i, j] equals `SpatialPyramidPooling(levels)` of
        `maps[b, i : i + window, j : j + window]`, in its channel-major order.
    """
    maps = ops.convert_to_tensor(maps)
    _, height, width, channels = maps.shape
    window_h, window_w = min(window, height), min(window, width)
    rows, cols = height - window_h + 1, width - window_w + 1
    pooled = []
    for n in levels:
        level = _sliding_bins(maps, window_h, n, rows, axis=1)
        level = _sliding_bins(level, window_w, n, cols, axis=2)
        level = ops.reshape(level, (-1, rows, n, cols, n, channels))
        level = ops.transpose(level, (0, 1, 3, 5, 2, 4))  # SPP's (channel, bin row, bin col)
        pooled.append(ops.reshape(level, (-1, rows, cols, channels * n * n)))
    return ops.concatenate(pooled, axis=-1)


def _sliding_bins(x, window, bins, positions, axis):
    """Max of each of a window's `bins` bins along `axis` (1 or 2 of a 4-D tensor), for the
    window at every offset 0 .. positions - 1: that axis becomes (positions, bins)."""
    start, end = bin_bounds(window, bins, "adaptive")
    sizes = end - start
    pooled, bank_offset, length = [], {}, 0
    for size in np.unique(sizes):
        pool = (size, 1) if axis == 1 else (1, size)
        pooled.append(
            ops.max_pool(x, pool, strides=1, data_format="channels_last") if size > 1 else x
        )
        bank_offset[size] = length
        length += x.shape[axis] - size + 1
    bank = ops.concatenate(pooled, axis=axis) if len(pooled) > 1 else pooled[0]
    offsets = np.array([bank_offset[size] for size in sizes]) + start
    index = np.arange(positions)[:, None] + offsets  # (positions, bins), position-major
    return ops.take(bank, index.reshape(-1), axis=axis)


def dense_scores(split, images, window):
    """Scores of images by dense testing at their current size (one scale).

    Args:
        split: The model cut at its pyramid (`keras_prelu.zoo.split`).
        images: (B, H, W, C) preprocessed images (mean subtracted).
        window: Window side in conv-map cells.

    Returns:
        (B, classes) tensor: the head's outputs averaged over every window of the image and
        of its horizontal flip (equal weights).
    """
    images = ops.convert_to_tensor(images)
    both = ops.concatenate([images, ops.flip(images, axis=2)], axis=0)
    features = window_features(split.trunk(both, training=False), split.spp.levels, window)
    _, rows, cols, length = features.shape
    features = ops.reshape(features, (-1, length))
    scores = ops.concatenate(
        [
            split.head(features[i : i + HEAD_BATCH], training=False)
            for i in range(0, features.shape[0], HEAD_BATCH)
        ],
        axis=0,
    )
    scores = ops.reshape(scores, (2, images.shape[0], rows * cols, -1))
    return ops.mean(scores, axis=(0, 2))
