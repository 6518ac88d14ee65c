"""Top-1/top-5 error of a trained model by the paper's testing methods (Sec. 3, Tables 2, 4-6).

    python recipes/evaluate.py runs/demo-fashion_mnist/model.keras --dataset fashion_mnist
    python recipes/evaluate.py model.keras --dataset imagenet2012 --data-dir /data/imagenet \
        --method dense --scales 256 384 480

--method center: the centre crop; ten_view: corners, centre and flips (Tables 2, 5); dense:
every window of the conv map of the whole image and its flip, at each scale (Tables 4, 6).
Image datasets default to the paper's scales (256; dense 256, 384, 480) and 224 views; the
small array datasets are tested at their native size, and for ten_view padded as the training
crops were (the run's config.json beside the model, or --pad). The per-pixel mean
subtracted is the training run's mean.npy beside the model unless --mean names another.
"""

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np

from keras_prelu import cli
from keras_prelu.data import catalog
from keras_prelu.evaluation import DATASETS, METHODS, evaluate, load_test_set
from keras_prelu.settings import Settings, setting


@dataclasses.dataclass(frozen=True)
class EvaluateSettings(Settings):
    model: str = setting("", "a saved .keras model (a training run's model.keras)")
    dataset: str = setting("fashion_mnist", "the test set's dataset", choices=DATASETS)
    data_dir: str | None = setting(None, "where the dataset is (as for training)")
    method: str = setting("center", "how each image is viewed", choices=METHODS)
    scales: tuple[int, ...] | None = setting(
        None, "shorter sides the images are resized to (image datasets); none: the paper's")
    crop_size: int | None = setting(None, "side of the views; none: 224, or the images' own")
    mean: str | None = setting(
        None, "the training run's mean.npy; none: the one beside the model, else zero")
    pad: int | None = setting(
        None, "zeros added around small images before the views (ten_view's corners are "
        "then the training crops' extremes); none: for ten_view the training run's (the "
        "config.json beside the model), else 0")
    batch_size: int = setting(32, "images per batch where they share a size")

    def __post_init__(self):
        super().__post_init__()
        if not self.model:
            raise ValueError("Give the saved model to test (a .keras file).")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}.")


def crop_pad(settings, model_path):
    """The zero padding of small images before the views: `--pad`, else for 10-view testing
    the pad the model was trained with (its run's config.json; the dataset's default pad
    when the run used that), else 0."""
    entry = catalog.get(settings.dataset)
    if settings.pad is not None or settings.method != "ten_view" or not entry.arrays:
        return settings.pad or 0
    config = model_path.with_name("config.json")
    return entry.crop_pad(json.loads(config.read_text()).get("pad") if config.is_file() else None)


def main(argv):
    settings = cli.parse_settings(EvaluateSettings, argv, description=__doc__.split("\n\n")[0],
                                  epilog=__doc__.split("\n\n", 1)[1], positional=("model",))
    path = Path(settings.model)
    if path.suffix != ".keras" or not path.is_file():
        raise FileNotFoundError(f"{path} is not a saved .keras model.")
    mean_path = Path(settings.mean) if settings.mean else path.with_name("mean.npy")
    if settings.mean and not mean_path.is_file():
        raise FileNotFoundError(f"--mean {mean_path}: no such file.")
    mean = np.load(mean_path) if mean_path.is_file() else 0.0
    print(f"Mean subtracted: {mean_path if mean_path.is_file() else 'none (zero)'}")
    # compile=False: testing needs the weights, not the training run's loss and optimizer.
    model = keras.models.load_model(path, compile=False, safe_mode=True)
    data = load_test_set(settings.dataset, settings.data_dir)
    result = evaluate(
        model, data, settings.method, scales=settings.scales, crop_size=settings.crop_size,
        mean=mean, pad=crop_pad(settings, path), batch_size=settings.batch_size, verbose=True,
    )
    print(
        f"{model.name} on {settings.dataset}, {settings.method} testing, {result.images} "
        f"images: top-1 error {result.top1_error:.2%}, top-5 error {result.top5_error:.2%}"
    )
    return result


if __name__ == "__main__":
    cli.main(main)
