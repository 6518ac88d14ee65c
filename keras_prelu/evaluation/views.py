"""The crops of single-view and 10-view testing (Krizhevsky et al. 2012; Tables 2 and 5)."""

from keras import ops


def center_view(images, crop_size):
    """The centre `crop_size` square of each image.

    The offsets are `(side - crop_size) // 2`, as `keras_prelu.data.center_crop_window`'s.

    Args:
        images: (B, H, W, C) tensor or array, H and W >= `crop_size`.
        crop_size: Side of the view.

    Returns:
        (B, crop_size, crop_size, C) tensor.
    """
    height, width = images.shape[1:3]
    top, left = (height - crop_size) // 2, (width - crop_size) // 2
    return ops.convert_to_tensor(images)[:, top : top + crop_size, left : left + crop_size]


def ten_views(images, crop_size):
    """The 10 views of each image: the four corner crops and the centre crop, then the
    horizontal flips of those five (Sec. 4: "10-view testing [18]", each view a 224-crop).

    Args:
        images: (B, H, W, C) tensor or array, H and W >= `crop_size`.
        crop_size: Side of each view.

    Returns:
        (10, B, crop_size, crop_size, C) tensor: top-left, top-right, bottom-left,
        bottom-right, centre, and the same five flipped.
    """
    images = ops.convert_to_tensor(images)
    height, width = images.shape[1:3]
    bottom, right = height - crop_size, width - crop_size
    crops = [
        images[:, top : top + crop_size, left : left + crop_size]
        for top, left in ((0, 0), (0, right), (bottom, 0), (bottom, right))
    ]
    crops = ops.stack([*crops, center_view(images, crop_size)])
    return ops.concatenate([crops, ops.flip(crops, axis=3)], axis=0)
