import numpy as np

from keras_prelu.evaluation import center_view, ten_views


def test_center_view_takes_the_middle_square_rounding_offsets_down(rng):
    images = rng.standard_normal((2, 9, 12, 3)).astype("float32")
    # (9 - 6) // 2 = 1 and (12 - 6) // 2 = 3, as the data pipeline's centre crop.
    np.testing.assert_array_equal(center_view(images, 6), images[:, 1:7, 3:9])
    np.testing.assert_array_equal(center_view(images, 9), images[:, :, 1:10])


def test_ten_views_are_corners_centre_and_their_flips(rng):
    images = rng.standard_normal((2, 9, 11, 3)).astype("float32")
    c = 6
    expected = [
        images[:, :c, :c],
        images[:, :c, -c:],
        images[:, -c:, :c],
        images[:, -c:, -c:],
        images[:, 1:7, 2:8],
    ]
    expected += [view[:, :, ::-1] for view in expected]
    views = np.asarray(ten_views(images, c))
    assert views.shape == (10, 2, c, c, 3)
    np.testing.assert_array_equal(views, np.stack(expected))


def test_ten_views_of_a_crop_sized_image_are_it_and_its_flip(rng):
    images = rng.standard_normal((1, 5, 5, 2)).astype("float32")
    views = np.asarray(ten_views(images, 5))
    np.testing.assert_array_equal(views[:5], np.broadcast_to(images, (5, 1, 5, 5, 2)))
    np.testing.assert_array_equal(views[5:], np.broadcast_to(images[:, :, ::-1], (5, 1, 5, 5, 2)))
