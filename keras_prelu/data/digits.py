"""scikit-learn's bundled 8x8 handwritten digits (1,797 images): a tiny real dataset for tests."""

import numpy as np

TEST_SIZE = 0.2
SPLIT_SEED = 0


def load_digits():
    """Loads the digits with a fixed, seeded, class-stratified train/test split.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (N, 8, 8, 1), the
        original 0..16 intensities scaled to 0..255, and int64 labels in 0..9
        (1,437 training and 360 test images).
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_SIZE, stratify=labels, random_state=SPLIT_SEED
    )
    return (x_train, y_train), (x_test, y_test)
