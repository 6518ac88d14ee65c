"""Train a network of the paper with its ImageNet recipe (Sec. 3), or any dataset here.

    python recipes/train.py --config recipes/configs/fashion_mnist.toml   # `make demo`
    python recipes/train.py --config recipes/configs/imagenet.toml --data-dir /data/imagenet

Every setting of `keras_prelu.training.TrainConfig` is a flag (`--global-batch-size 256`)
and can come from a TOML/JSON file (`--config`); flags win. On several GPUs the run uses
MirroredStrategy; with TF_CONFIG set, MultiWorkerMirroredStrategy (README, "Training").
Rerun the same command after an interruption: training resumes from its last checkpoint.
"""

import argparse
import dataclasses
import sys

from keras_prelu.training import TrainConfig, format_slope_table, train


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="a TOML or JSON file of settings")
    for field in dataclasses.fields(TrainConfig):
        parser.add_argument(f"--{field.name.replace('_', '-')}", dest=field.name,
                            nargs="+" if "tuple" in str(field.type) else None,
                            help=f"default: {field.default}")
    args = vars(parser.parse_args(argv))
    path = args.pop("config")
    overrides = {name: value for name, value in args.items() if value is not None}
    return TrainConfig.load(path, **overrides) if path else TrainConfig.from_dict(overrides)


def main(argv=None):
    config = parse_args(sys.argv[1:] if argv is None else argv)
    print(f"Training {config.model} ({config.activation}) on {config.dataset}; "
          f"output in {config.output_dir}")
    result = train(config)
    top1, top5 = result.errors["top1_error"], result.errors["top5_error"]
    split = "test" if config.dataset in ("fashion_mnist", "digits") else "validation"
    print(f"\n{split} accuracy {100 * (1 - top1):.2f}%  top-1 error {100 * top1:.2f}%  "
          f"top-5 error {100 * top5:.2f}%  ({result.steps} steps)")
    print("\nLearned PReLU slopes (cf. the paper's Table 1):\n")
    print(format_slope_table(result.model))


if __name__ == "__main__":
    main()
