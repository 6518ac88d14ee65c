"""Fixtures: real photographs bundled with scikit-image and scikit-learn."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    """uint8 RGB photographs of several sizes and aspect ratios."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    return {
        "astronaut": skimage.data.astronaut(),  # 512 x 512
        "chelsea": skimage.data.chelsea(),  # 300 x 451
        "coffee": skimage.data.coffee(),  # 400 x 600
        "china": china,  # 427 x 640
        "flower": flower,
    }
