import numpy as np
from sklearn.datasets import load_digits as sklearn_digits

from keras_prelu.data import load_digits


def test_split_shapes_scaling_and_stratification():
    (x_train, y_train), (x_test, y_test) = load_digits()
    assert x_train.shape == (1437, 8, 8, 1) and x_test.shape == (360, 8, 8, 1)
    assert x_train.dtype == np.uint8 and x_train.max() == 255
    # Same images as scikit-learn's, 0..16 scaled to 0..255 (compared as sorted rows).
    reference = sklearn_digits()
    expected = np.round(reference.images.reshape(len(reference.images), -1) * 255 / 16)
    ours = np.concatenate([x_train, x_test]).reshape(len(expected), -1)
    np.testing.assert_array_equal(
        np.unique(ours, axis=0), np.unique(expected.astype(np.uint8), axis=0)
    )
    np.testing.assert_array_equal(
        np.bincount(np.concatenate([y_train, y_test])), np.bincount(reference.target)
    )
    # Stratified: each class's share of the test set matches its share of the data.
    test_share = np.bincount(y_test, minlength=10) / np.bincount(reference.target)
    assert np.all(np.abs(test_share - 0.2) < 0.02)


def test_split_is_fixed():
    (a, _), _ = load_digits()
    (b, _), _ = load_digits()
    np.testing.assert_array_equal(a, b)
