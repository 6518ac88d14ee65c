"""A test set as batches of images, resized to each testing scale (Sec. 3, "Testing")."""

import numpy as np

from keras_prelu.data import make_image_dataset


def is_image_source(data):
    """Whether `data` is an `ImageSource` (encoded images) rather than (images, labels)."""
    return hasattr(data, "records")


def scale_batches(data, *, scales, crop_size, whole_images, batch_size):
    """Batches of the test set, each image at every scale, in the dataset's order.

    Args:
        data: An `ImageSource`, resized to each scale by `make_image_dataset`; or
            `(images, labels)` arrays, used at their native size (`scales` must be None).
        scales: The shorter sides images are resized to (image sources).
        crop_size: Side of the centre views when not `whole_images`.
        whole_images: The whole resized images (10-view and dense testing: one image per
            batch, as their sizes differ), else the centre crops (already the view).
        batch_size: Images per batch when they all have one size.

    Yields:
        `(images, labels)`: a list with one float32 (B, H, W, C) array per scale, values on
        the 0..255 scale, and int (B,) labels.
    """
    if not is_image_source(data):
        images, labels = data
        for start in range(0, len(labels), batch_size):
            batch = images[start : start + batch_size].astype(np.float32)
            yield [batch], labels[start : start + batch_size]
        return
    mode, batch_size = ("full", 1) if whole_images else ("center", batch_size)
    datasets = [
        make_image_dataset(data, batch_size, mode=mode, mean=0.0, scale=scale, crop_size=crop_size)
        for scale in scales
    ]
    for batches in zip(*datasets, strict=True):
        yield [images.numpy() for images, _ in batches], batches[0][1].numpy()
