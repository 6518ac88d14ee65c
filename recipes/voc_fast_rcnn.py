"""Fast R-CNN detection with the paper's networks (Sec. 4, Table 8), tested by VOC 2007's mAP.

    python recipes/voc_fast_rcnn.py train --config recipes/configs/voc2007.toml \
        --data-dir VOCdevkit --backbone-weights runs/imagenet-model_a/model.keras
    python recipes/voc_fast_rcnn.py train --config recipes/configs/voc_semi_synthetic.toml \
        --backbone-weights runs/table8/backbone-prelu-seed1/model.keras
    python recipes/voc_fast_rcnn.py table8        # `make detect`: Table 8 at local scale
    python recipes/voc_fast_rcnn.py table8 --quick  # in runs/table8-quick, minutes

`train` fine-tunes one detector (every setting of keras_prelu.detection.DetectionConfig is
a flag, and can come from a TOML or JSON file: --config; flags win) and tests it on the
test split. `table8` runs the whole local experiment: ReLU and PReLU backbones trained on
Fashion-MNIST, and detectors from each and from no pretraining, per seed. Both resume
when run again after an interruption, and redo nothing that has finished.
"""

import sys

from keras_prelu import cli
from keras_prelu.detection.experiment import Table8Settings, report, run_table8
from keras_prelu.detection.training import DetectionConfig, train_detector

COMMANDS = ("train", "table8")


def train(argv):
    config = cli.parse_settings(DetectionConfig, argv, description="Fine-tune one Fast R-CNN "
                                "detector and test it by VOC 2007's mAP.")
    backbone = config.backbone_weights or "no pretraining"
    print(f"Fast R-CNN on {config.dataset} from {config.model} ({backbone}).")
    result = train_detector(config)
    results = result.results
    print(f"\nmAP {100 * results['map']:.1f} (VOC 2007 11-point) on "
          f"{results['test_images']} test images; proposal recall "
          f"{100 * results['proposal_recall']:.1f}% at IoU 0.5")
    print(f"Model, detections, logs and results in {result.output_dir}")
    return result


def table8(argv):
    settings = cli.parse_settings(Table8Settings, argv, description="Table 8 at local scale: "
                                  "detectors from ReLU, PReLU and no pretraining.")
    summary = run_table8(settings)
    print("\n" + report(summary))
    print(f"\nSummary and figures in {settings.results_dir}")
    return summary


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        given = f"got {argv[0]!r}" if argv else "got none"
        raise SystemExit(f"usage: voc_fast_rcnn.py {{{','.join(COMMANDS)}}} [flags]; give a "
                         f"command first ({given}).\n\n{__doc__}")
    command, *rest = argv
    return {"train": train, "table8": table8}[command](rest)


if __name__ == "__main__":
    cli.main(main, sys.argv[1:])
