"""Table 8 at local scale: detectors from a ReLU backbone, a PReLU backbone, and the PReLU
architecture trained from scratch, on the semi-synthetic VOC set, over several seeds.

The paper's Table 8 fine-tunes model A with ReLU and with PReLU (ImageNet-trained) as Fast
R-CNN detectors on VOC 2007 and finds PReLU's better (68.4 vs 67.6 mAP). Here, per seed:

  1. two backbones, the same zoo network and recipe with ReLU and with PReLU, trained on
     Fashion-MNIST with `keras_prelu.training.train` (`backbone_config`);
  2. three detectors with the same detector schedule (`detector_config`) on the
     semi-synthetic set (Fashion-MNIST's test objects on photographs): from the ReLU
     backbone, from the PReLU backbone, and from the PReLU architecture freshly
     initialised (no pretraining: what the pretraining is worth);
  3. each tested by VOC 2007's 11-point mAP, with what limits it
     (`keras_prelu.detection.analysis`).

Every run is a run directory of its own under `output_dir` (resumed if interrupted,
skipped once finished), and so is the data (the set and its proposals' cache), so the
whole experiment is one resumable command (`make detect`). The summary, its Markdown
table and the figures go to `results_dir`: `table8.json`, `table8.md`, `detections.png`
(the first seed's PReLU detector on test images) and `precision_recall.png` (its
precision-recall curve per class).
"""

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from keras_prelu import paper
from keras_prelu.detection.data import read_image
from keras_prelu.detection.inference import evaluate
from keras_prelu.detection.training import (
    DetectionConfig,
    load_detections,
    load_images,
    train_detector,
)
from keras_prelu.settings import Settings, setting
from keras_prelu.training import TrainConfig, train
from keras_prelu.training.callbacks import format_duration
from keras_prelu.training.run_directory import write_json, write_text
from keras_prelu.zoo.registry import CardTable

CONFIGS = Path("recipes") / "configs"  # relative to the repository, where `make detect` runs
# (variant, backbone activation, pretrained)
VARIANTS = (("relu", "relu", True), ("prelu", "prelu", True), ("prelu_scratch", "prelu", False))
LABELS = {"relu": "ReLU backbone", "prelu": "PReLU backbone",
          "prelu_scratch": "PReLU, no pretraining"}
# The paper's entries that Table 8 at local scale stands beside.
PAPER_COLUMNS = {"relu": "A+ReLU", "prelu": "A+PReLU"}
# Quick mode: every stage for a few steps on a tiny set (the end-to-end test).
QUICK_BACKBONE = {"epochs": 1, "steps_per_epoch": 3, "learning_rates": (1e-2,),
                  "switch_epochs": None}
QUICK_DETECTOR = {"train_images": 8, "test_images": 4, "epochs": 1, "steps_per_epoch": 2,
                  "learning_rates": (1e-3,), "switch_epochs": None}
SHOWN_IMAGES = 6  # test images drawn with their detections


@dataclasses.dataclass(frozen=True)
class Table8Settings(Settings):
    """The experiment: which configs, which seeds, where."""

    backbone_config: str = setting(
        str(CONFIGS / "voc_backbone.toml"), "the backbones' classification settings (a "
        "keras_prelu.training.TrainConfig file); the experiment sets activation and seed")
    detector_config: str = setting(
        str(CONFIGS / "voc_semi_synthetic.toml"), "the detectors' settings (a "
        "DetectionConfig file); the experiment sets the backbone, activation and seed")
    seeds: tuple[int, ...] = setting((1, 2), "one backbone pair and three detectors per seed")
    quick: bool = setting(
        False, "every stage for a few steps on a tiny set: the whole experiment end to end "
        "in minutes (its numbers mean nothing)")
    output_dir: str | None = setting(
        None, "the runs and the data (set, proposals' cache); none: runs/table8 (quick: "
        "runs/table8-quick)")
    results_dir: str | None = setting(
        None, "where the summary and figures go; none: results/detection, the committed "
        "ones (quick: the output directory's results/)")
    verbose: int = setting(1, "0 silent, 1 progress bars, 2 one line per epoch",
                           choices=(0, 1, 2))

    def __post_init__(self):
        super().__post_init__()
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be one or more different seeds, got {self.seeds}.")
        # A quick run's meaningless numbers must never land beside the committed results.
        output_dir = self.output_dir or ("runs/table8-quick" if self.quick else "runs/table8")
        object.__setattr__(self, "output_dir", output_dir)
        if self.results_dir is None:
            object.__setattr__(self, "results_dir", str(Path(output_dir) / "results")
                               if self.quick else "results/detection")


def backbone_config(settings, activation, seed):
    """The `TrainConfig` of one backbone run."""
    overrides = {"activation": activation, "seed": seed, "verbose": settings.verbose,
                 "output_dir": str(Path(settings.output_dir) / f"backbone-{activation}-seed{seed}"),
                 **(QUICK_BACKBONE if settings.quick else {})}
    return TrainConfig.load(settings.backbone_config, **overrides)


def detector_config(settings, variant, seed):
    """The `DetectionConfig` of one detector run (its backbone's model.keras, or none)."""
    _, activation, pretrained = next(v for v in VARIANTS if v[0] == variant)
    root = Path(settings.output_dir)
    weights = (str(root / f"backbone-{activation}-seed{seed}" / "model.keras")
               if pretrained else None)
    overrides = {"activation": activation, "seed": seed, "backbone_weights": weights,
                 "verbose": settings.verbose,
                 "output_dir": str(root / f"detector-{variant}-seed{seed}"),
                 "proposals_dir": str(root / "data" / "proposals"),
                 **(QUICK_DETECTOR if settings.quick else {})}
    config = DetectionConfig.load(settings.detector_config, **overrides)
    data_dir = root / "data" / (f"semi_synthetic_voc-{config.train_images}-"
                                f"{config.test_images}-{config.data_seed}")
    return config.replace(data_dir=str(data_dir))


def run_table8(settings):
    """Runs (or resumes, or reads back) every backbone and detector, then summarises.

    Every run's settings are checked before the first one starts.

    Returns:
        The summary written to `results_dir/table8.json`.
    """
    plan = [(seed, [backbone_config(settings, activation, seed) for activation in
                    ("relu", "prelu")],
             [(variant, detector_config(settings, variant, seed)) for variant, _, _ in VARIANTS])
            for seed in settings.seeds]
    started = time.monotonic()
    backbones, detectors = [], []
    for seed, backbone_runs, detector_runs in plan:
        for config in backbone_runs:
            result = train(config)
            backbones.append({"activation": config.activation, "seed": seed,
                              "top1_error": result.errors["top1_error"],
                              "output_dir": str(result.output_dir)})
        for variant, config in detector_runs:
            result = train_detector(config)
            detectors.append({"variant": variant, "seed": seed, **result.results,
                              "output_dir": str(result.output_dir)})
    summary = summarise(settings, plan[0][1][0].model, backbones, detectors,
                        time.monotonic() - started)
    results = Path(settings.results_dir)
    results.mkdir(parents=True, exist_ok=True)
    write_json(results / "table8.json", summary)
    write_text(results / "table8.md", markdown_table(summary) + "\n")
    figures(summary, results, plan[0][2])
    return summary


def summarise(settings, backbone_model, backbones, detectors, seconds):
    """The experiment's summary: every run's numbers, and the mean per variant."""
    variants = {}
    for variant, _, _ in VARIANTS:
        runs = [run for run in detectors if run["variant"] == variant]
        maps = [run["map"] for run in runs]
        variants[variant] = {
            "label": LABELS[variant],
            "map": {str(run["seed"]): run["map"] for run in runs},
            "mean_map": float(np.mean(maps)),
            "std_map": float(np.std(maps)),
            "proposal_recall": float(np.mean([run["proposal_recall"] for run in runs])),
            "detector_recall": float(np.mean([run["detector_recall"] for run in runs])),
            "errors": {kind: float(np.mean([run["errors"][kind] for run in runs]))
                       for kind in runs[0]["errors"]},
        }
    return {
        "settings": settings.to_dict(),
        "backbone_model": backbone_model,
        "paper_map": paper.TABLE8_MAP,
        "variants": variants,
        "backbones": backbones,
        "detectors": detectors,
        "seconds": round(seconds, 1),
    }


def markdown_table(summary):
    """Table 8 at local scale beside the paper's, as Markdown."""
    seeds = sorted({seed for v in summary["variants"].values() for seed in v["map"]}, key=int)
    lines = [
        "| detector (backbone) | " + " | ".join(f"mAP, seed {s}" for s in seeds)
        + " | mean | paper (VOC 2007, model A) |",
        "| --- |" + " ---: |" * (len(seeds) + 2),
    ]
    for variant, row in summary["variants"].items():
        reference = PAPER_COLUMNS.get(variant)
        paper_cell = (f"{reference}: {summary['paper_map'][reference]}" if reference
                      else "(not in the paper)")
        lines.append(f"| {row['label']} | " + " | ".join(f"{100 * row['map'][s]:.1f}"
                                                         for s in seeds)
                     + f" | {100 * row['mean_map']:.1f} | {paper_cell} |")
    return "\n".join(lines)


def figures(summary, results, first_seed_detectors):
    """detections.png and precision_recall.png of the first seed's PReLU detector."""
    from keras_prelu import plotting

    config = dict(first_seed_detectors)["prelu"]
    run = next(r for r in summary["detectors"] if r["variant"] == "prelu")
    detections = load_detections(Path(run["output_dir"]) / "detections.npz")
    _, test_images = load_images(config)
    names = config.class_names()
    shown = test_images[:SHOWN_IMAGES]
    plotting.detection_grid([read_image(image.path, 3).astype(np.uint8) for image in shown],
                            [detections[image.image_id] for image in shown],
                            [(image.boxes, image.labels) for image in shown], names,
                            results / "detections.png",
                            title=f"PReLU-backbone detector, seed {run['seed']}: test images "
                                  "(boxes scoring >= 0.5; ground truth dashed)")
    scores = evaluate(detections, test_images, names)
    plotting.precision_recall(scores["precision"], scores["recall"], scores["ap"],
                              results / "precision_recall.png",
                              title=f"PReLU-backbone detector, seed {run['seed']}: "
                                    f"mAP {100 * scores['map']:.1f} (VOC 2007 11-point)")


def card_tables(results_dir):
    """{zoo model: [CardTable]}: Table 8 at local scale for the backbone's model card."""
    path = Path(results_dir) / "detection" / "table8.json"
    if not path.exists():
        return {}
    summary = json.loads(path.read_text(encoding="utf-8"))
    if summary["settings"]["quick"]:
        return {}
    seeds = sorted({s for v in summary["variants"].values() for s in v["map"]}, key=int)
    rows = tuple(
        (row["label"], *(f"{100 * row['map'][s]:.1f}" for s in seeds),
         f"{100 * row['mean_map']:.1f}",
         f"{PAPER_COLUMNS[v]}: {summary['paper_map'][PAPER_COLUMNS[v]]}" if v in PAPER_COLUMNS
         else "-")
        for v, row in summary["variants"].items())
    table = CardTable(
        f"Fast R-CNN detection (Table 8 at local scale): VOC 2007 mAP (%) on the "
        f"semi-synthetic test set, {summary['backbone_model']} backbones trained on Fashion-MNIST "
        "(`make detect`, results/detection)",
        ("detector (backbone)", *(f"seed {s}" for s in seeds), "mean", "paper (VOC 2007)"),
        rows)
    return {summary["backbone_model"]: [table]}


def report(summary):
    """One line per variant, for the command's output."""
    lines = [markdown_table(summary), ""]
    for row in summary["variants"].values():
        errors = ", ".join(f"{kind} {100 * share:.0f}%" for kind, share in row["errors"].items())
        lines.append(f"{row['label']}: proposal recall {100 * row['proposal_recall']:.1f}%, "
                     f"detector recall {100 * row['detector_recall']:.1f}%; top detections: "
                     f"{errors}")
    lines.append(f"\n{format_duration(summary['seconds'])} in this invocation.")
    return "\n".join(lines)
