import re

import numpy as np
import pytest
from PIL import Image

from keras_prelu.data import DatasetNotFoundError
from keras_prelu.evaluation import DATASETS, dataset_scores, evaluate, load_test_set
from tests.evaluation.conftest import (
    CLASSES,
    COMMUTING_CROP,
    COMMUTING_STRIDE,
    commuting_model,
    crop_average,
)


def top_k_error(scores, labels, k):
    """Reference: the label is not among the k highest scores."""
    top = np.argsort(-scores, axis=1)[:, :k]
    return float(np.mean([label not in row for row, label in zip(top, labels, strict=True)]))


def all_scores(*args, **kwargs):
    batches = list(dataset_scores(*args, **kwargs))
    return np.concatenate([s for s, _ in batches]), np.concatenate([y for _, y in batches])


def test_dense_evaluation_of_arrays_is_the_crop_average_with_top_k_errors(rng):
    model = commuting_model()
    images = rng.integers(0, 256, (11, 26, 30, 3), dtype=np.uint8)
    reference = np.stack(
        [crop_average(model, image.astype("float32") - 100, COMMUTING_CROP, COMMUTING_STRIDE)
         for image in images]
    )
    labels = rng.integers(0, CLASSES, 11)
    labels[:5] = reference[:5].argmax(axis=1)  # some right, most wrong
    kwargs = {"crop_size": COMMUTING_CROP, "mean": 100.0, "batch_size": 4}
    scores, got_labels = all_scores(model, (images, labels), "dense", **kwargs)
    np.testing.assert_allclose(scores, reference, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(got_labels, labels)
    result = evaluate(model, (images, labels), "dense", **kwargs)
    assert result.images == 11
    np.testing.assert_array_equal(result.labels, labels)
    np.testing.assert_array_equal(result.predictions, reference.argmax(axis=1))
    assert result.top1_error == pytest.approx(top_k_error(reference, labels, 1))
    assert result.top5_error == pytest.approx(top_k_error(reference, labels, 5))
    assert 0 < result.top5_error < result.top1_error < 1


def test_small_images_at_native_size_are_the_model_on_the_image(tiny_model_a, rng):
    images = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, CLASSES, 5)
    mean = rng.uniform(0, 255, (32, 32, 3)).astype("float32")
    scores, _ = all_scores(tiny_model_a, (images, labels), "center", mean=mean, batch_size=2)
    expected = np.asarray(tiny_model_a(images.astype("float32") - mean, training=False))
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-7)


def test_ten_view_of_padded_small_images_averages_the_extreme_training_crops(tiny_model_a, rng):
    images = rng.integers(1, 256, (5, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, CLASSES, 5)
    mean = rng.uniform(0, 255, (32, 32, 3)).astype("float32")
    scores, _ = all_scores(tiny_model_a, (images, labels), "ten_view", mean=mean, pad=2,
                           batch_size=2)
    # Reference: the crops of the 2-px zero-padded image at offsets (0 or 4, 0 or 4) and
    # (2, 2), i.e. shifted by +-2 px, and their mirror images; softmax averaged.
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)]).astype("float32")
    views = [padded[:, top : top + 32, left : left + 32]
             for top, left in ((0, 0), (0, 4), (4, 0), (4, 4), (2, 2))]
    views += [view[:, :, ::-1] for view in views]
    expected = np.mean([tiny_model_a(view - mean, training=False) for view in views], axis=0)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-7)
    # Unpadded, the five views of a 32-px image are one: the image and its flip.
    native, _ = all_scores(tiny_model_a, (images, labels), "ten_view", mean=mean)
    flips = [tiny_model_a(view.astype("float32") - mean, training=False)
             for view in (images, images[:, :, ::-1])]
    np.testing.assert_allclose(native, np.mean(flips, axis=0), rtol=1e-5, atol=1e-7)


@pytest.fixture
def folder(tmp_path, rng, monkeypatch):
    """The test set of an image folder (`<dir>/val/<class>/<image>`, as for training): three
    PNGs (lossless) with shorter side 36 in two classes; and the same images as arrays."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the folder's manifest
    images = [rng.integers(0, 256, shape, dtype=np.uint8)
              for shape in ((36, 36, 3), (36, 44, 3), (44, 36, 3))]
    for i, (image, label) in enumerate(zip(images, ("a", "b", "b"), strict=True)):
        (tmp_path / "val" / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(tmp_path / "val" / label / f"{i}.png")
    source = load_test_set("image_folder", tmp_path)
    assert source.class_names == ("a", "b") and source.num_examples == 3
    return source, images, [0, 1, 1]


@pytest.mark.parametrize("method", ["center", "ten_view", "dense"])
def test_an_image_folder_at_its_native_scale_scores_as_its_arrays(tiny_model_a, folder, method):
    source, images, labels = folder
    kwargs = {"crop_size": 32, "mean": np.array([120.0, 110.0, 100.0])}
    scores, got_labels = all_scores(tiny_model_a, source, method, scales=[36], **kwargs)
    expected = [
        all_scores(tiny_model_a, (image[None], [label]), method, **kwargs)[0]
        for image, label in zip(images, labels, strict=True)
    ]
    np.testing.assert_allclose(scores, np.concatenate(expected), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got_labels, labels)


def test_scales_are_combined_with_equal_weights(tiny_model_a, folder):
    source = folder[0]
    each = [all_scores(tiny_model_a, source, "dense", scales=[s], crop_size=32)[0]
            for s in (36, 48)]
    combined, _ = all_scores(tiny_model_a, source, "dense", scales=[36, 48], crop_size=32)
    np.testing.assert_allclose(combined, np.mean(each, axis=0), rtol=1e-6)
    result = evaluate(tiny_model_a, source, "dense", scales=[36, 48], crop_size=32)
    assert result.images == 3


@pytest.mark.parametrize(
    "method, data, kwargs, message",
    [
        (
            "dense", "folder", {"scales": [36, 8], "crop_size": 32},
            "Scale 8 is too small for method='dense', which needs images whose shorter side "
            "is at least 12 (the model's minimum input).",
        ),
        (
            "ten_view", "folder", {"scales": [30], "crop_size": 32},
            "Scale 30 is too small for method='ten_view', which needs images whose shorter "
            "side is at least 32 (crop_size).",
        ),
        ("dense", "folder", {"scales": []}, "scales is empty; give at least one shorter side."),
        (
            "center", "arrays", {"crop_size": 40},
            "The images' shorter side 32 is too small for method='center', which needs images "
            "whose shorter side is at least 40 (crop_size).",
        ),
        (
            "center", "arrays", {"scales": [256]},
            "scales apply to encoded images (an ImageSource); arrays are tested at their native "
            "size, got scales=[256].",
        ),
        ("ten_view", "arrays", {"pad": -1}, "pad must be >= 0, got -1."),
        (
            "ten_view", "folder", {"scales": [36], "crop_size": 32, "pad": 1},
            "pad=1 applies to arrays of small images; encoded images are resized to each "
            "scale and cropped, so give no pad.",
        ),
        (
            "center", "empty", {},
            "Test arrays must be (N, H, W, C) images and (N,) labels with N >= 1, got shapes "
            "(0, 32, 32, 3) and (0,).",
        ),
        (
            "center", "greyscale", {},
            "Test arrays must be (N, H, W, C) images and (N,) labels with N >= 1, got shapes "
            "(2, 32, 32) and (2,).",
        ),
    ],
)
def test_bad_test_sets_and_scales_are_named(tiny_model_a, folder, method, data, kwargs, message):
    data = {
        "folder": folder[0],
        "arrays": (np.zeros((2, 32, 32, 3), np.uint8), np.zeros(2, int)),
        "empty": (np.zeros((0, 32, 32, 3), np.uint8), np.zeros(0, int)),
        "greyscale": (np.zeros((2, 32, 32), np.uint8), np.zeros(2, int)),
    }[data]
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate(tiny_model_a, data, method, **kwargs)


def test_load_test_set_by_name(tmp_path):
    assert DATASETS == ("fashion_mnist", "digits", "image_folder", "imagenet2012")
    images, labels = load_test_set("digits")
    assert images.shape == (360, 8, 8, 1) and labels.shape == (360,)
    with pytest.raises(ValueError, match=re.escape(
            "Unknown dataset 'cifar10'; use one of ('fashion_mnist', 'digits', 'image_folder', "
            "'imagenet2012').")):
        load_test_set("cifar10")
    with pytest.raises(DatasetNotFoundError, match=re.escape(
            "The image_folder dataset needs --data-dir: a folder with train/<class>/<image> and "
            "val/<class>/<image>.")):
        load_test_set("image_folder")
    with pytest.raises(DatasetNotFoundError, match=f"{tmp_path}/val is missing"):
        load_test_set("image_folder", tmp_path)
    with pytest.raises(DatasetNotFoundError, match=f"{tmp_path} lacks ILSVRC2012_img_val.tar"):
        load_test_set("imagenet2012", tmp_path)
