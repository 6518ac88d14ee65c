"""Train a network of the paper by its ImageNet recipe (Sec. 3), on any dataset of the catalog.

    python recipes/train.py --config recipes/configs/fashion_mnist.toml   # `make demo`
    python recipes/train.py --config recipes/configs/imagenet.toml --data-dir /data/imagenet

Every setting of `keras_prelu.training.TrainConfig` is a flag (`--global-batch-size 256`,
`--xla`, `--mixed-precision native`) and can come from a TOML or JSON file (`--config`); flags
win. On several GPUs the run uses MirroredStrategy; with TF_CONFIG set,
MultiWorkerMirroredStrategy (README, "Training"). Rerun the same command after an
interruption: training resumes from its last checkpoint. An output directory holding
another run is refused (--start-over moves that run aside).
"""

from keras_prelu import cli
from keras_prelu.training import TrainConfig, format_slope_table, train


def main(argv):
    config = cli.parse_settings(TrainConfig, argv, description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1])
    print(f"Training {config.model} ({config.activation or 'its default rectifier'}) on "
          f"{config.dataset}.")
    result = train(config)
    top1, top5 = result.errors["top1_error"], result.errors["top5_error"]
    views = " (10-view testing)" if config.test_method == "ten_view" else ""
    print(f"\n{result.evaluated_on} accuracy{views} {100 * (1 - top1):.2f}%  top-1 error "
          f"{100 * top1:.2f}%  top-5 error {100 * top5:.2f}%  ({result.steps} steps)")
    print("\nLearned PReLU slopes (cf. the paper's Table 1):\n")
    print(format_slope_table(result.model))
    print(f"\nModel, logs and results in {result.output_dir}")
    if result.figures:
        print("Figures: " + ", ".join(str(path) for path in result.figures))
    return result


if __name__ == "__main__":
    cli.main(main)
