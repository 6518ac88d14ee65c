"""Fixtures: a tiny semi-synthetic VOC set with a proposals file, and a tiny detector."""

from pathlib import Path

import numpy as np
import pytest

from keras_prelu.data import SEMI_SYNTHETIC_CLASSES, make_semi_synthetic_voc, voc_devkit
from keras_prelu.data.fashion_mnist import DEBIAN_DIR
from tests.data.test_voc import devkit, prepared_tfds  # noqa: F401 (the tfds route's fixtures)

needs_fashion_mnist = pytest.mark.skipif(
    not (DEBIAN_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)")


@pytest.fixture(scope="session")
def tiny_voc(tmp_path_factory):
    """(set folder, proposals .npz): 4 training and 2 test images; proposals in VOC's
    1-based pixels, each object's box jittered a few times plus random boxes."""
    root = make_semi_synthetic_voc(tmp_path_factory.mktemp("voc") / "set", train_images=4,
                                   test_images=2, seed=0)
    rng = np.random.default_rng(0)
    proposals = {}
    for split in ("trainval", "test"):
        for record in voc_devkit(root, split, class_names=SEMI_SYNTHETIC_CLASSES):
            boxes = [record.boxes + rng.integers(-6, 7, record.boxes.shape) for _ in range(6)]
            corners = rng.integers(1, [record.width, record.height], (60, 2))
            boxes.append(np.concatenate([corners, corners + rng.integers(10, 80, (60, 2))], 1))
            boxes = np.concatenate(boxes).astype(np.float64)
            boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 1, record.width)
            boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 1, record.height)
            boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2])
            proposals[record.image_id] = boxes
    path = Path(root).parent / "proposals.npz"
    np.savez(path, **proposals)
    return root, path


def tiny_detector(voc, output_dir, **changes):
    """The settings of a tiny detector on `tiny_voc`: plain9 at 1/8 width, fc 16."""
    root, proposals = voc
    return {
        "dataset": "semi_synthetic", "data_dir": str(root), "train_images": 4, "test_images": 2,
        "train_proposals": str(proposals), "test_proposals": str(proposals),
        "model": "plain9", "activation": "prelu", "width": 0.125, "stem": "small",
        "fc_units": 16, "dropout": 0.0, "backbone_classes": 10, "channels": 1, "scale": 72,
        "max_size": 120, "rois_per_image": 16, "epochs": 1, "steps_per_epoch": 2,
        "learning_rates": [1e-3], "switch_epochs": None, "seed": 3, "deterministic": True,
        "verbose": 0, "output_dir": str(output_dir), **changes,
    }
