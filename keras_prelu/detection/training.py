"""`train_detector(DetectionConfig)`: Fast R-CNN fine-tuning and VOC 2007 testing (Table 8).

The paper fine-tunes its ImageNet models with Fast R-CNN's public code on VOC 2007
trainval and reports mAP on VOC 2007 test (Sec. 4). This task does the same on the run
machinery (`keras_prelu.training`: checkpoints and exact resume, learning-rate stages,
tf.distribute, logs) for any zoo classifier, on PASCAL VOC from the official tars or on
the semi-synthetic set (`keras_prelu.data.make_semi_synthetic_voc`).

The settings are four sections: the data (`DetectionData`: which images, their
proposals, their scale), the detector (`DetectorSettings`: the backbone's weights, Fast
R-CNN's sampling and test limits), the backbone's architecture (`ModelSettings`, as the
classifier recipe's) and the run (`RunSettings`). The defaults are Fast R-CNN's VOC 2007
recipe: images scaled to a 600-px shorter side (at most 1000 px), minibatches of 2 images
x 64 rois with 25% foreground, flips, SGD with momentum 0.9, learning rate 1e-3 for 30k
iterations then 1e-4 for 10k (12 + 4 epochs of VOC 2007 trainval's 5,011 images, 2 a
step), weight decay 5e-4, the first conv stage frozen.
"""

import dataclasses
import json
import math
import time
from pathlib import Path

import keras
import numpy as np

from keras_prelu.data import (
    SEMI_SYNTHETIC_CLASSES,
    VOC_CLASSES,
    make_semi_synthetic_voc,
    voc_devkit,
    voc_tfds,
)
from keras_prelu.data.errors import DatasetNotFoundError
from keras_prelu.detection.analysis import error_breakdown, proposal_recall
from keras_prelu.detection.data import (
    detection_images,
    read_image,
    tfds_detection_images,
    training_rois,
)
from keras_prelu.detection.fast_rcnn import fast_rcnn, trunk_stride
from keras_prelu.detection.inference import (
    MAX_DETECTIONS,
    NMS_THRESHOLD,
    SCORE_THRESHOLD,
    Detections,
    detect_all,
    evaluate,
)
from keras_prelu.detection.pipeline import Sampling, training_dataset
from keras_prelu.detection.proposals import compute_proposals, load_proposals
from keras_prelu.layers.roi_pooling import UNKNOWN_SIZE_LEVELS
from keras_prelu.settings import Settings, setting
from keras_prelu.training.fit import fit_epochs
from keras_prelu.training.model_settings import ModelSettings
from keras_prelu.training.run import default_output_dir, prepare_run
from keras_prelu.training.run_directory import write_atomically
from keras_prelu.training.run_settings import RunSettings

TASK = "detection"
DATASETS = {"voc": VOC_CLASSES, "voc_tfds": VOC_CLASSES,
            "semi_synthetic": SEMI_SYNTHETIC_CLASSES}
DEFAULT_DATA_ROOT = Path("runs") / "data"


@dataclasses.dataclass(frozen=True)
class DetectionData(Settings):
    """Which images a detector trains and is tested on, their proposals and their scale."""

    dataset: str = setting(
        "voc", "voc: PASCAL VOC from the official tars (a VOCdevkit folder); voc_tfds: "
        "tensorflow-datasets' voc/<year>, already prepared; semi_synthetic: Fashion-MNIST "
        "objects on photographs in VOC's layout, made once and kept",
        choices=tuple(DATASETS))
    data_dir: str | None = setting(
        None, "voc: the VOCdevkit folder (or its VOC<year>); voc_tfds: the tensorflow-datasets "
        "data directory (none: its default); semi_synthetic: where the set is made or found "
        "(none: runs/data/semi_synthetic_voc-<train>-<test>-<data seed>)")
    year: str = setting("2007", "voc: the VOC<year> folder (Table 8: 2007)")
    train_split: str = setting("trainval", "the split trained on (Table 8: trainval)")
    test_split: str = setting("test", "the split tested on (Table 8: test)")
    train_images: int = setting(2000, "semi_synthetic: training images")
    test_images: int = setting(500, "semi_synthetic: test images")
    data_seed: int = setting(0, "semi_synthetic: the seed the set is made with")
    train_proposals: str | None = setting(
        None, "an .npz file of proposals for the training images (VOC's 1-based pixels, see "
        "keras_prelu.detection.load_proposals); none: selective search, computed once")
    test_proposals: str | None = setting(
        None, "the same for the test images; none: selective search")
    proposals_dir: str = setting(
        str(DEFAULT_DATA_ROOT / "proposals"), "the cache of selective search proposals "
        "(keyed by each image's bytes; shared by runs); voc_tfds writes its JPEGs beside it, "
        "in voc<year>_tfds_images")
    channels: int = setting(
        3, "image channels the backbone takes: 3 (RGB), or 1: colour images become grey, "
        "the mean of R, G and B", choices=(1, 3))
    scale: int = setting(600, "the shorter side images are resized to (Fast R-CNN: 600)")
    max_size: int = setting(1000, "the cap of the longer side (Fast R-CNN: 1000)")
    pixel_mean: tuple[float, ...] | None = setting(
        None, "the per-channel mean subtracted from the images (one value per channel); "
        "none: the training images' mean")

    def __post_init__(self):
        super().__post_init__()
        for name in ("train_images", "test_images", "scale"):
            if getattr(self, name) < 1:
                raise ValueError(f"Setting {name} must be at least 1, got {getattr(self, name)}.")
        if self.max_size < self.scale:
            raise ValueError(f"max_size ({self.max_size}) must be at least scale ({self.scale}).")
        if self.pixel_mean is not None and len(self.pixel_mean) != self.channels:
            raise ValueError(f"pixel_mean needs {self.channels} value(s), one per channel, got "
                             f"{list(self.pixel_mean)}.")

    def class_names(self):
        return DATASETS[self.dataset]


@dataclasses.dataclass(frozen=True)
class DetectorSettings(Settings):
    """The backbone a detector starts from, and Fast R-CNN's sampling and test limits."""

    backbone_weights: str | None = setting(
        None, "the trained classifier (.keras or .weights.h5, e.g. a training run's "
        "model.keras) whose conv and fc layers the detector starts from; none: the same "
        "architecture freshly initialised (no pretraining)")
    backbone_classes: int = setting(
        1000, "the classes of that classifier (its fc3, which the detector replaces)")
    rois_per_image: int = setting(64, "rois per image and step (Fast R-CNN: 128 / 2 images)")
    fg_fraction: float = setting(0.25, "the foreground share of an image's rois")
    fg_threshold: float = setting(0.5, "the IoU with a ground-truth box that makes a roi "
                                  "foreground")
    bg_range: tuple[float, ...] = setting(
        (0.1, 0.5), "the IoU range [low, high) of background rois")
    score_threshold: float = setting(SCORE_THRESHOLD, "test: class scores kept above this")
    nms_threshold: float = setting(NMS_THRESHOLD, "test: per-class NMS at this IoU")
    max_detections: int = setting(MAX_DETECTIONS, "test: detections kept per image")

    def __post_init__(self):
        super().__post_init__()
        if self.rois_per_image < 1 or self.max_detections < 1 or self.backbone_classes < 1:
            raise ValueError("rois_per_image, max_detections and backbone_classes must be at "
                             "least 1.")
        if not 0 < self.fg_fraction <= 1:
            raise ValueError(f"fg_fraction must be in (0, 1], got {self.fg_fraction}.")
        if len(self.bg_range) != 2 or not 0 <= self.bg_range[0] < self.bg_range[1] <= 1:
            raise ValueError(f"bg_range must be two IoUs 0 <= low < high <= 1, got "
                             f"{list(self.bg_range)}.")
        for name in ("fg_threshold", "nms_threshold"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}.")


_RUN_DEFAULTS = {
    # Fast R-CNN on VOC 2007 (models/VGG16/solver.prototxt, cfg.TRAIN): 2 images a step;
    # 40k iterations, 1e-4 from the 30k-th: 16 and 12 epochs of trainval's 5,011 images.
    "global_batch_size": (2, "images per step, summed over replicas (Fast R-CNN: 2)"),
    "learning_rates": ((1e-3, 1e-4), "the learning rate's stages (Fast R-CNN: 1e-3 1e-4)"),
    "switch_epochs": ((12,), "epochs (from 0) where the next learning rate starts (Fast "
                      "R-CNN: after 30k of 40k iterations)"),
    "epochs": (16, "passes over the training images (Fast R-CNN: 40k iterations)"),
}


def _run_field(name):
    default, help_text = _RUN_DEFAULTS[name]
    field = RunSettings.__dataclass_fields__[name]
    return (name, field.type, setting(default, help_text))


DetectionRunSettings = dataclasses.make_dataclass(
    "DetectionRunSettings", [_run_field(name) for name in _RUN_DEFAULTS], bases=(RunSettings,),
    frozen=True, namespace={"__module__": __name__,
                            "__doc__": "The run section with Fast R-CNN's schedule."})


@dataclasses.dataclass(frozen=True)
class DetectionConfig(DetectionData, DetectorSettings, ModelSettings, DetectionRunSettings):
    """The detection recipe's settings: data, detector, backbone and run sections in one."""

    def __post_init__(self):
        super().__post_init__()
        if self.xla:
            raise ValueError(
                "xla: a detector's images keep their own sizes (Fast R-CNN's scale rule) and "
                "XLA compiles a program per size; train without --xla.")

    def identity(self):
        """What defines the run: all but the resumable settings and the proposal cache."""
        identity = super().identity()
        del identity["proposals_dir"]
        return identity

    def sampling(self):
        return Sampling(self.channels, self.scale, self.max_size, self.rois_per_image,
                        self.fg_fraction, self.fg_threshold, tuple(self.bg_range))


@dataclasses.dataclass
class DetectionResult:
    """What a finished detection run produced.

    Attributes:
        model: the trained `FastRCNN`.
        history: per-epoch logs of this invocation (empty if the run had finished).
        results: the run's `results.json`: "map" and "ap" per class (VOC 2007 11-point, on
            the test split), "proposal_recall", "detector_recall", "errors" (see
            `keras_prelu.detection.analysis`), "steps", "replicas", "test_images",
            "train_seconds", "test_seconds".
        output_dir: the run directory (model.keras, detections.npz, history.csv, ...).
    """

    model: keras.Model
    history: dict
    results: dict
    output_dir: Path


def default_data_dir(config):
    """Where the semi-synthetic set of `config` lives by default."""
    return DEFAULT_DATA_ROOT / (f"semi_synthetic_voc-{config.train_images}-"
                                f"{config.test_images}-{config.data_seed}")


def load_images(config):
    """(training images, test images) of `config`'s dataset, as `DetectionImage`s.

    The semi-synthetic set is made on first use and reused after (`make_semi_synthetic_voc`).

    Raises:
        DatasetNotFoundError: VOC without data_dir, or not where data_dir says; voc_tfds
            not prepared there.
    """
    names = config.class_names()
    if config.dataset == "voc_tfds":
        images_dir = Path(config.proposals_dir).parent / f"voc{config.year}_tfds_images"
        return tuple(tfds_detection_images(voc_tfds(split, year=config.year,
                                                    data_dir=config.data_dir), images_dir)
                     for split in (config.train_split, config.test_split))
    if config.dataset == "voc":
        if config.data_dir is None:
            raise DatasetNotFoundError(
                "dataset voc needs --data-dir: the VOCdevkit folder extracted from the "
                "official tars (VOCtrainval_06-Nov-2007.tar, VOCtest_06-Nov-2007.tar), or use "
                "--dataset voc_tfds (a prepared tensorflow-datasets copy) or semi_synthetic.")
        root, year = Path(config.data_dir), config.year
    else:
        root = make_semi_synthetic_voc(
            config.data_dir or default_data_dir(config), train_images=config.train_images,
            test_images=config.test_images, seed=config.data_seed)
        year = "2007"
    return tuple(detection_images(voc_devkit(root, split, year=year, class_names=names))
                 for split in (config.train_split, config.test_split))


def load_split_proposals(images, path, cache_dir, verbose):
    """{image id: proposals}: from the .npz file `path`, or selective search (cached)."""
    if path is not None:
        return load_proposals(path, {image.image_id: (image.height, image.width)
                                     for image in images})
    return compute_proposals({image.image_id: image.path for image in images}, cache_dir,
                             verbose=verbose)


def mean_pixel(images, channels):
    """The per-channel mean of the images' pixels (every pixel of every image)."""
    total, count = np.zeros(channels), 0
    for image in images:
        pixels = read_image(image.path, channels)
        total += pixels.reshape(-1, channels).sum(axis=0, dtype=np.float64)
        count += pixels.shape[0] * pixels.shape[1]
    return total / count


def build_detector(config, num_classes, pixel_mean):
    """The `FastRCNN` of `config`'s backbone (with its weights, if given) for `num_classes`.

    Raises:
        ValueError: a backbone file of another architecture (the zoo's message), or images
            whose conv maps exceed what RoI pooling covers at this stride.
    """
    classifier = config.build_model(input_shape=(None, None, config.channels),
                                    classes=config.backbone_classes,
                                    weights=config.backbone_weights)
    detector = fast_rcnn(classifier, num_classes, pixel_mean=tuple(pixel_mean),
                         image_scale=(config.scale, config.max_size),
                         weight_decay=config.weight_decay)
    cells = math.ceil(config.max_size / trunk_stride(detector.trunk))
    if cells > 2**UNKNOWN_SIZE_LEVELS:
        raise ValueError(
            f"max_size={config.max_size} px gives conv maps of up to {cells} cells at "
            f"{config.model}'s stride {trunk_stride(detector.trunk)}; RoI pooling covers "
            f"{2**UNKNOWN_SIZE_LEVELS}: use --max-size "
            f"{2**UNKNOWN_SIZE_LEVELS * trunk_stride(detector.trunk)} or less.")
    return detector


def _steps_per_epoch(config, num_images):
    batches = num_images // config.global_batch_size
    if batches < 1:
        raise ValueError(f"{num_images} training images make no batch of "
                         f"{config.global_batch_size}.")
    steps = config.steps_per_epoch or batches
    if steps > batches:
        raise ValueError(
            f"steps_per_epoch={steps} is more than one epoch holds: {batches} batches of "
            f"{config.global_batch_size} from {num_images} images. Use at most {batches}, or "
            "none for one full pass.")
    return steps


def train_detector(config, strategy=None):
    """Fine-tunes a Fast R-CNN detector and tests it by VOC 2007's metric; resumes if stopped.

    Everything that can be wrong with the setup (another run in the output directory, a
    batch that does not split among the replicas, a missing dataset or proposal file,
    a backbone file of another architecture, images too large for the RoI pooling) is an
    error before anything is written. Rerunning the same settings resumes from the last
    checkpoint; rerunning a finished run returns its results.

    Args:
        config: a `DetectionConfig`.
        strategy: a `tf.distribute.Strategy`; default `choose_strategy()`.

    Returns:
        A `DetectionResult`.
    """
    run = prepare_run(config, TASK, strategy=strategy, default_dir=default_output_dir(
        TASK, config, config.dataset, config.model))
    if run.finished is not None:
        print(f"{run.path} holds this run, finished: nothing to train (--start-over trains "
              "it afresh, moving this one aside).")
        model = keras.models.load_model(run.path / "model.keras", safe_mode=True)
        return DetectionResult(model, {}, run.finished, run.path)
    # Before the data set, proposals or model are made: they take minutes.
    if config.backbone_weights is not None and not Path(config.backbone_weights).is_file():
        raise FileNotFoundError(
            f"--backbone-weights {config.backbone_weights} is not a file: give a trained "
            "classifier's model.keras (recipes/train.py writes one; `make detect` trains "
            "the backbones), or no --backbone-weights for a detector without pretraining.")
    train_images, test_images = load_images(config)
    steps_per_epoch = _steps_per_epoch(config, len(train_images))
    verbose = 1 if config.verbose else 0
    train_proposals = load_split_proposals(train_images, config.train_proposals,
                                           config.proposals_dir, verbose)
    test_proposals = load_split_proposals(test_images, config.test_proposals,
                                          config.proposals_dir, verbose)
    mean_path = run.path / "mean.npy"
    if config.pixel_mean is not None:
        pixel_mean = np.asarray(config.pixel_mean)
    elif run.directory.resuming and mean_path.exists():
        pixel_mean = np.load(mean_path)
    else:
        pixel_mean = mean_pixel(train_images, config.channels)
    class_names = config.class_names()
    with run.strategy.scope():
        model = build_detector(config, len(class_names), pixel_mean)
        model.compile(optimizer=keras.optimizers.SGD(config.learning_rates[0],
                                                     momentum=config.momentum))
        model.optimizer.build(model.trainable_variables)
    run.claim()
    run.save_array("mean.npy", pixel_mean)

    rois = [training_rois(image, train_proposals[image.image_id], config.bg_range[0])
            for image in train_images]
    sampling = config.sampling()

    def epoch_data(epoch, input_context):
        return training_dataset(train_images, rois, sampling, config.global_batch_size,
                                seed=run.seed, epoch=epoch, input_context=input_context)

    started = time.monotonic()
    history = fit_epochs(run, model, epoch_data, steps_per_epoch=steps_per_epoch)
    train_seconds = time.monotonic() - started
    run.save_model(model)

    started = time.monotonic()
    detections = detect_all(
        model, {image.image_id: image.path for image in test_images}, test_proposals,
        verbose=verbose, score_threshold=config.score_threshold,
        nms_threshold=config.nms_threshold, max_detections=config.max_detections)
    test_seconds = time.monotonic() - started
    results = test_results(detections, test_images, test_proposals, class_names)
    results.update({
        "steps": int(model.optimizer.iterations.numpy()),
        "replicas": run.strategy.num_replicas_in_sync,
        "train_seconds": round(train_seconds, 1),
        "test_seconds": round(test_seconds, 1),
    })
    if run.chief:
        save_detections(run.path / "detections.npz", detections)
    run.finish(results)
    return DetectionResult(model, history, results, run.path)


def test_results(detections, images, proposals, class_names):
    """The VOC 2007 mAP and AP per class of a test set's detections, and what limits them."""
    scores = evaluate(detections, images, class_names)
    # The recall a class reaches with all its detections (classes with objects only).
    recalls = [float(scores["recall"][name][-1]) if len(scores["recall"][name]) else 0.0
               for name, ap in scores["ap"].items() if not math.isnan(ap)]
    return {
        "map": scores["map"],
        "ap": scores["ap"],
        "test_images": len(images),
        "proposal_recall": proposal_recall(images, proposals),
        "detector_recall": float(np.mean(recalls)),
        "errors": error_breakdown(detections, images, len(class_names)),
    }


def save_detections(path, detections):
    """Writes {image id: `Detections`} to an .npz file (`load_detections` reads it)."""
    arrays = {}
    for image_id, found in detections.items():
        for field, values in found._asdict().items():
            arrays[f"{image_id}/{field}"] = values
    arrays["ids"] = np.asarray(json.dumps(list(detections)))

    def write(scratch):
        with open(scratch, "wb") as handle:
            np.savez_compressed(handle, **arrays)

    write_atomically(path, write)


def load_detections(path):
    """{image id: `Detections`} from a `save_detections` file."""
    with np.load(path) as archive:
        ids = json.loads(str(archive["ids"]))
        return {image_id: Detections(*(archive[f"{image_id}/{field}"]
                                       for field in Detections._fields)) for image_id in ids}

