"""Top-1/top-5 error of a trained model by the paper's testing methods (Sec. 3, Tables 2, 4-6).

    .venv/bin/python recipes/evaluate.py runs/train/model.keras --dataset fashion_mnist \
        --mean runs/train/mean.npy
    .venv/bin/python recipes/evaluate.py model.keras --dataset imagenet2012 \
        --data-dir /data/imagenet --method dense --scales 256 384 480 --mean runs/a/mean.npy

--method center: the centre crop; ten_view: corners, centre and flips (Tables 2, 5); dense:
every window of the conv map of the whole image and its flip, at each scale (Tables 4, 6).
Image datasets default to the paper's scales (256; dense 256, 384, 480) and 224 views; the
small array datasets are tested at their native size.
"""

import argparse

import keras
import numpy as np

import keras_prelu  # noqa: F401  (registers the layers the saved model uses)
from keras_prelu.evaluation import DATASETS, METHODS, evaluate, load_test_set


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a saved .keras model")
    parser.add_argument("--dataset", choices=DATASETS, required=True)
    parser.add_argument("--data-dir", help="IDX files, the image folder or ImageNet's tars")
    parser.add_argument("--method", choices=METHODS, default="center")
    parser.add_argument("--scales", type=int, nargs="+", help="shorter sides (image datasets)")
    parser.add_argument("--crop-size", type=int, help="view side (default 224 or native)")
    parser.add_argument("--mean", help="the training run's mean.npy (default: zero mean)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    # compile=False: testing needs the weights, not the training run's loss and optimizer.
    model = keras.models.load_model(args.model, compile=False, safe_mode=True)
    data = load_test_set(args.dataset, args.data_dir)
    mean = 0.0 if args.mean is None else np.load(args.mean)
    result = evaluate(
        model, data, args.method, scales=args.scales, crop_size=args.crop_size, mean=mean,
        batch_size=args.batch_size, verbose=True,
    )
    print(
        f"{model.name} on {args.dataset}, {args.method} testing, {result.images} images: "
        f"top-1 error {result.top1_error:.2%}, top-5 error {result.top5_error:.2%}"
    )
    return result


if __name__ == "__main__":
    main()
