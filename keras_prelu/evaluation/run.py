"""Top-1 and top-5 error of a trained classifier on a test set (Tables 2, 4, 5, 6)."""

from typing import NamedTuple

import keras
import numpy as np

from keras_prelu import paper
from keras_prelu.evaluation.inputs import is_image_source, scale_batches
from keras_prelu.evaluation.scores import Scorer
from keras_prelu.metrics import top_k_hits

# The paper's testing scales (shorter sides) for encoded images, and its 224x224 views.
PAPER_SCALES = paper.TEST_SCALES
CROP_SIZE = paper.CROP_SIZE
TOP_K = {"top1_error": 1, "top5_error": 5}


class Evaluation(NamedTuple):
    """Top-1 and top-5 error (fractions) over `images` test images, and each image's label
    and highest-scoring class (int arrays of `images` entries, in the test set's order)."""

    top1_error: float
    top5_error: float
    images: int
    labels: np.ndarray
    predictions: np.ndarray


def dataset_scores(
    model, data, method="center", *, scales=None, crop_size=None, window=None, mean=0.0,
    pad=0, batch_size=32,
):
    """Scores of every test image by one method, averaged over scales with equal weights
    (Table 6: "the combination weights for all scales are equal").

    Args:
        model: A trained chain model (every zoo model; see `Scorer`).
        data: An `ImageSource` (`image_folder(...)`, `imagenet2012("validation")`), or
            `(images, labels)`: uint8 (N, H, W, C) images at their native size (small
            images such as Fashion-MNIST's: there centre and full-image testing are the
            model on the image) and (N,) integer labels.
        method: "center", "ten_view" or "dense" (`METHODS`).
        scales: Shorter sides the images are resized to; None for the paper's
            (`PAPER_SCALES`). Image sources only: arrays keep their native size.
        crop_size: Side of the views, and of the crop whose conv map sets dense testing's
            window; None for 224 (image sources) or the images' shorter side (arrays).
        window: Dense testing's window in conv-map cells; None for the map of a crop.
        mean: Subtracted from the network's inputs (see `Scorer`): scalar, per-channel
            vector, or the training run's per-pixel mean image.
        pad: Arrays only: zeros added on every side of each image first, as the training
            crops' `pad` (small images are trained on crops of the padded image): then the
            corners of "ten_view" are the training crops' extreme offsets, as the corners
            of a 256-px image are for 224-px crops (Sec. 4). `crop_size` stays the images'
            own side.
        batch_size: Images per batch where they share one size (centre crops, arrays).

    Returns:
        A generator of `(scores, labels)`: float32 (B, classes) probabilities, (B,) labels.

    Raises:
        ValueError: Malformed or empty arrays; scales or a pad for image sources, scales
            for arrays, or none; a negative pad; a scale (for arrays, the images' side)
            smaller than the method needs; `Scorer`'s errors.
    """
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}.")
    if is_image_source(data):
        if pad:
            raise ValueError(
                f"pad={pad} applies to arrays of small images; encoded images are resized to "
                "each scale and cropped, so give no pad.")
        crop_size = CROP_SIZE if crop_size is None else crop_size
    else:
        images, labels = _arrays(data, scales)
        crop_size = min(images.shape[1:3]) if crop_size is None else crop_size
        data = np.pad(images, [(0, 0), (pad, pad), (pad, pad), (0, 0)]), labels
    scorer = Scorer(model, method, crop_size=crop_size, window=window, mean=mean)
    if is_image_source(data):
        scales = PAPER_SCALES[method] if scales is None else tuple(scales)
        if not scales:
            raise ValueError("scales is empty; give at least one shorter side.")
        sides = {f"Scale {scale}": scale for scale in scales}
    else:
        side = min(data[0].shape[1:3])
        sides = {f"The images' shorter side {side}": side}
    for what, side in sides.items():
        if side < scorer.min_scale:
            needs = "the model's minimum input" if method == "dense" else "crop_size"
            raise ValueError(
                f"{what} is too small for method={method!r}, which needs images whose shorter "
                f"side is at least {scorer.min_scale} ({needs})."
            )

    def generate():
        batches = scale_batches(
            data, scales=scales, crop_size=crop_size, whole_images=method != "center",
            batch_size=batch_size,
        )
        for images, labels in batches:
            yield np.mean([scorer(x) for x in images], axis=0), labels

    return generate()


def evaluate(model, data, method="center", *, verbose=False, **kwargs):
    """Top-1 and top-5 error of a classifier on a test set by one testing method.

    Args:
        model: A trained chain model (every zoo model).
        data: An `ImageSource` or `(images, labels)` arrays (see `dataset_scores`).
        method: "center", "ten_view" or "dense".
        verbose: Show a progress bar with the running errors.
        **kwargs: `scales`, `crop_size`, `window`, `mean`, `pad`, `batch_size` of
            `dataset_scores`.

    Returns:
        An `Evaluation`.

    Raises:
        ValueError: As `dataset_scores`.
    """
    progress = None
    if verbose:
        total = data.num_examples if is_image_source(data) else len(data[1])
        progress = keras.utils.Progbar(total, stateful_metrics=list(TOP_K), unit_name="image")
    misses, count, all_labels, predictions = dict.fromkeys(TOP_K, 0), 0, [], []
    for scores, labels in dataset_scores(model, data, method, **kwargs):
        for name, k in TOP_K.items():
            misses[name] += int(np.sum(~np.asarray(top_k_hits(scores, labels, k))))
        count += len(labels)
        all_labels.append(np.asarray(labels))
        predictions.append(np.argmax(scores, axis=-1))
        if progress is not None:
            progress.update(count, [(name, misses[name] / count) for name in TOP_K])
    return Evaluation(misses["top1_error"] / count, misses["top5_error"] / count, count,
                      np.concatenate(all_labels), np.concatenate(predictions))


def _arrays(data, scales):
    """Validated `(images, labels)` arrays."""
    if scales is not None:
        raise ValueError(
            "scales apply to encoded images (an ImageSource); arrays are tested at their "
            f"native size, got scales={scales}."
        )
    images, labels = (np.asarray(array) for array in data)
    if images.ndim != 4 or labels.shape != images.shape[:1] or not len(labels):
        raise ValueError(
            f"Test arrays must be (N, H, W, C) images and (N,) labels with N >= 1, got shapes "
            f"{images.shape} and {labels.shape}."
        )
    return images, labels
