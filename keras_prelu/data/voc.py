"""PASCAL VOC detection annotations (Everingham et al.), the data of the paper's Sec. 4 / Table 8.

Three readers: `parse_annotation` (one annotation XML file), `voc_devkit` (the extracted official
tars: a VOCdevkit folder) and `voc_tfds` (tensorflow-datasets' `voc/<year>`, if prepared).

Boxes are in VOC's own convention everywhere here: (xmin, ymin, xmax, ymax) in 1-based,
inclusive pixel coordinates, so a box's width is xmax - xmin + 1 and a box covering the whole
image is (1, 1, width, height). Fast R-CNN subtracts 1 on load (0-based, inclusive); that is the
consumer's step.
"""

import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_prelu.data.errors import DataFormatError, DatasetNotFoundError

# The 20 classes in the devkit's order (VOCinit.m); class index i is VOC_CLASSES[i].
VOC_CLASSES = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
VOC_URL = "http://host.robots.ox.ac.uk/pascal/VOC/voc{year}/"
# The official tars of each year (from VOC_URL) and the splits they hold.
VOC_TARS = {
    "2007": {
        "VOCtrainval_06-Nov-2007.tar": ("train", "val", "trainval"),
        "VOCtest_06-Nov-2007.tar": ("test",),
    },
    "2012": {"VOCtrainval_11-May-2012.tar": ("train", "val", "trainval")},
}
# VOC's split names -> tensorflow-datasets' (its "train" and "validation" are VOC's train, val).
TFDS_SPLITS = {"train": "train", "val": "validation", "trainval": "train+validation",
               "test": "test"}
_COORDINATES = ("xmin", "ymin", "xmax", "ymax")
_REPORTED = 5  # missing files named in a message


@dataclass(frozen=True, eq=False)
class VOCRecord:
    """One annotated image of a VOC split.

    Attributes:
        image_id: The id in ImageSets/Main/<split>.txt, e.g. "000005".
        image_path: The JPEG, JPEGImages/<image_id>.jpg.
        width: Image width from the annotation, in pixels.
        height: Image height from the annotation, in pixels.
        boxes: (N, 4) int32 (xmin, ymin, xmax, ymax), VOC's 1-based inclusive pixels.
        labels: (N,) int64 class indices into the reader's `class_names`.
        difficult: (N,) bool; VOC's metric ignores difficult objects (neither hit nor miss).
    """

    image_id: str
    image_path: Path
    width: int
    height: int
    boxes: np.ndarray
    labels: np.ndarray
    difficult: np.ndarray


def parse_annotation(
    xml_path: str | os.PathLike, class_names: tuple[str, ...] = VOC_CLASSES
) -> dict:
    """Reads one VOC annotation file, tolerating the quirks of real files.

    Object names are stripped and lower-cased, as Fast R-CNN does. Coordinates may be written
    as floats ("273.0", "12.5", as labelme and other tools write them): they are floored to
    whole pixels, which is what Fast R-CNN's loader does (it stores float(text) - 1 in a uint16
    array) and what mmdetection's int(float(text)) does; the MATLAB devkit keeps the fractions.
    A missing or empty <difficult>, <truncated> or <pose> means not difficult, not truncated,
    unspecified (pose is not returned). Unknown tags are ignored.

    Args:
        xml_path: The annotation, e.g. VOC2007/Annotations/000005.xml.
        class_names: The names an object may have.

    Returns:
        A dict: "filename" (the <filename> text), "size" (width, height, depth) and "objects",
        a list of dicts in file order with "name", "bbox" (xmin, ymin, xmax, ymax: ints in
        VOC's 1-based inclusive pixels, 1 <= xmin <= xmax <= width, same for y), "difficult"
        and "truncated" (bools).

    Raises:
        DataFormatError: Names the file and the problem: not well-formed XML, a missing
            filename, size, width, height, depth, name, bndbox or coordinate, a non-numeric
            value, an inverted box (xmax < xmin or ymax < ymin), a box outside the image, or
            a name not in `class_names`.

    Example:
        >>> annotation = parse_annotation("VOCdevkit/VOC2007/Annotations/000005.xml")
        >>> annotation["objects"][0]
        {'name': 'chair', 'bbox': (263, 211, 324, 339), 'difficult': False, 'truncated': False}
    """
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as e:
        raise DataFormatError(
            f"{xml_path}: not well-formed XML ({e}); replace it with the original annotation"
        ) from e

    def fail(problem):
        return DataFormatError(f"{xml_path}: {problem}; fix or replace the annotation")

    def text(parent, tag, where):
        node = parent.find(tag)
        if node is None or not (node.text or "").strip():
            raise fail(f"{where} has no <{tag}>")
        return node.text.strip()

    def integer(parent, tag, where):
        value = text(parent, tag, where)
        try:
            return int(value)
        except ValueError:
            raise fail(f"{where} <{tag}> {value!r} is not an integer") from None

    def flag(parent, tag, where):
        node = parent.find(tag)
        value = "" if node is None or node.text is None else node.text.strip()
        if value not in ("", "0", "1"):
            raise fail(f"{where} <{tag}> {value!r} is not 0 or 1")
        return value == "1"

    if root.tag != "annotation":
        raise fail(f"the root element is <{root.tag}>, not <annotation>")
    filename = text(root, "filename", "<annotation>")
    size = root.find("size")
    if size is None:
        raise fail("<annotation> has no <size>")
    width, height, depth = (integer(size, tag, "<size>") for tag in ("width", "height", "depth"))
    if width < 1 or height < 1:
        raise fail(f"<size> {width} x {height} is empty")

    objects = []
    for number, node in enumerate(root.iter("object"), start=1):
        where = f"object {number}"
        name = text(node, "name", where).lower()
        where = f"object {number} ({name})"
        if name not in class_names:
            raise fail(f"{where}: unknown class {name!r}; the classes are {', '.join(class_names)}")
        bndbox = node.find("bndbox")
        if bndbox is None:
            raise fail(f"{where} has no <bndbox>")
        bbox = []
        for tag in _COORDINATES:
            value = text(bndbox, tag, f"{where} <bndbox>")
            try:
                coordinate = float(value)
            except ValueError:
                coordinate = math.nan
            if not math.isfinite(coordinate):
                raise fail(f"{where} <{tag}> {value!r} is not a number")
            bbox.append(math.floor(coordinate))
        xmin, ymin, xmax, ymax = bbox
        if xmax < xmin or ymax < ymin:
            raise fail(f"{where}: inverted box {tuple(bbox)} (xmax < xmin or ymax < ymin)")
        if xmin < 1 or ymin < 1 or xmax > width or ymax > height:
            raise fail(
                f"{where}: box {tuple(bbox)} is outside the {width} x {height} image (VOC "
                f"pixels are 1-based: 1 <= xmin <= xmax <= {width}, 1 <= ymin <= ymax <= {height})"
            )
        objects.append({
            "name": name,
            "bbox": tuple(bbox),
            "difficult": flag(node, "difficult", where),
            "truncated": flag(node, "truncated", where),
        })
    return {"filename": filename, "size": (width, height, depth), "objects": objects}


def voc_devkit(
    root: str | os.PathLike,
    split: str,
    *,
    year: str = "2007",
    class_names: tuple[str, ...] = VOC_CLASSES,
) -> list[VOCRecord]:
    """Reads a split of an extracted VOCdevkit: every image of the split and its objects.

    The layout is the official tars' once extracted: root/VOC<year>/{Annotations/<id>.xml,
    JPEGImages/<id>.jpg, ImageSets/Main/<split>.txt}; `root` may also be the VOC<year> folder
    itself (as for `make_semi_synthetic_voc`'s sets). Every annotation is parsed and every
    image checked to exist before anything is returned.

    Args:
        root: The VOCdevkit folder, or its VOC<year> folder.
        split: A list of ImageSets/Main, e.g. "train", "val", "trainval", "test".
        year: The VOC<year> subfolder to read.
        class_names: The classes, in label order (VOC_CLASSES for PASCAL VOC).

    Returns:
        A list of `VOCRecord` in the split file's order; boxes in VOC's 1-based convention.

    Raises:
        DatasetNotFoundError: A folder, the split file, annotations or images are missing; the
            message names them and says how to get VOC.
        DataFormatError: An annotation is malformed (see `parse_annotation`).

    Example:
        >>> records = voc_devkit("VOCdevkit", "trainval")  # 5,011 images for VOC 2007
        >>> records[0].image_id, records[0].boxes[0]
        ('000005', array([263, 211, 324, 339], dtype=int32))
    """
    root = Path(root)
    base = root / f"VOC{year}" if (root / f"VOC{year}").is_dir() else root
    split_file = base / "ImageSets" / "Main" / f"{split}.txt"
    folders = [base / "Annotations", base / "JPEGImages", split_file.parent]
    missing = [f"{folder}/" for folder in folders if not folder.is_dir()]
    if missing:
        raise DatasetNotFoundError(
            _not_found(root, year, f"missing {', '.join(missing)}", split))
    if not split_file.is_file():
        lists = sorted(p.stem for p in split_file.parent.glob("*.txt") if "_" not in p.stem)
        raise DatasetNotFoundError(_not_found(
            root, year, f"no split file {split_file} (the splits there: "
            f"{', '.join(lists) or 'none'})", split))

    with open(split_file, encoding="utf-8") as f:
        image_ids = [line.strip() for line in f if line.strip()]
    paths = [(i, base / "Annotations" / f"{i}.xml", base / "JPEGImages" / f"{i}.jpg")
             for i in image_ids]
    for kind, column in (("annotations", 1), ("images", 2)):
        absent = [str(entry[column]) for entry in paths if not entry[column].is_file()]
        if absent:
            more = f" and {len(absent) - _REPORTED} more" if len(absent) > _REPORTED else ""
            raise DatasetNotFoundError(_not_found(
                root, year, f"{len(absent)} of the {len(paths)} {kind} of {split_file} are "
                f"missing: {', '.join(absent[:_REPORTED])}{more}", split))

    index = {name: i for i, name in enumerate(class_names)}
    records = []
    for image_id, xml_path, image_path in paths:
        annotation = parse_annotation(xml_path, class_names)
        objects = annotation["objects"]
        width, height, _ = annotation["size"]
        records.append(VOCRecord(
            image_id=image_id,
            image_path=image_path,
            width=width,
            height=height,
            boxes=np.array([o["bbox"] for o in objects], np.int32).reshape(-1, 4),
            labels=np.array([index[o["name"]] for o in objects], np.int64),
            difficult=np.array([o["difficult"] for o in objects], bool),
        ))
    return records


def _not_found(root: Path, year: str, problem: str, split: str) -> str:
    needed = [tar for tar, splits in VOC_TARS.get(year, {}).items() if split in splits]
    listed = f" ({', '.join(needed)})" if needed else ""
    return (
        f"PASCAL VOC {year} not found under {root}: {problem}. Download the official tars"
        f"{listed} from {VOC_URL.format(year=year)}, extract them into one directory (each "
        f"holds VOCdevkit/VOC{year}/...: tar xf <tar>) and pass that VOCdevkit folder as root. "
        "Without VOC, make_semi_synthetic_voc() writes a set in the same layout."
    )


def tfds_boxes_to_voc(boxes, width, height) -> tf.Tensor:
    """tensorflow-datasets' normalised VOC boxes back to VOC's integer pixels.

    tfds's `voc` builder (tensorflow_datasets/object_detection/voc.py, dataset version 5.0.0)
    stores, for the XML's coordinates taken as floats, BBox(ymin / height, xmin / width,
    ymax / height, xmax / width) in float32, with no -1: VOC's 1-based values divided by the
    size. float32 keeps 24 bits, so value * size is within size * 2**-24 of the XML's number;
    adding twice that before flooring makes the result exact for integer coordinates (all of
    VOC's) and equal to `parse_annotation`'s floor for fractional ones, unless they lie within
    size * 2**-22 px below the next integer.

    Args:
        boxes: (..., 4) float (ymin, xmin, ymax, xmax), tfds's `objects/bbox`.
        width: Image width in pixels (scalar).
        height: Image height in pixels (scalar).

    Returns:
        (..., 4) int32 (xmin, ymin, xmax, ymax) in VOC's 1-based inclusive pixels.

    Example:
        >>> tfds_boxes_to_voc(np.float32([[211 / 375, 263 / 500, 339 / 375, 324 / 500]]),
        ...                   500, 375).numpy()
        array([[263, 211, 324, 339]], dtype=int32)
    """
    scale = tf.cast(tf.stack([height, width, height, width]), tf.float64)
    pixels = tf.math.floor(tf.cast(boxes, tf.float64) * scale + scale * 2.0**-23)
    return tf.cast(tf.gather(pixels, [1, 0, 3, 2], axis=-1), tf.int32)


def voc_tfds(
    split: str, *, year: str = "2007", data_dir: str | os.PathLike | None = None
) -> tf.data.Dataset:
    """A split of tensorflow-datasets' `voc/<year>`, which must already be prepared.

    Nothing is downloaded: tfds fetches VOC from its own mirror, which needs internet, so
    prepare it once elsewhere (`tfds.builder("voc/2007").download_and_prepare()`) and copy the
    data directory, or use `voc_devkit` on the extracted official tars.

    Args:
        split: "train", "val", "trainval" or "test" (VOC's names).
        year: "2007" or "2012" (2012's test split has no annotations).
        data_dir: tfds data directory (default ~/tensorflow_datasets).

    Returns:
        A dataset of dicts, one per image in tfds's order, with the fields of `VOCRecord`
        except that "image" holds the encoded JPEG (a string) instead of a path: "image_id",
        "image", "width", "height" (int32), "boxes" ((N, 4) int32, VOC's 1-based pixels via
        `tfds_boxes_to_voc`), "labels" ((N,) int64, indices into VOC_CLASSES) and
        "difficult" ((N,) bool).

    Raises:
        ValueError: Unknown split.
        DatasetNotFoundError: `voc/<year>` is not prepared in the data directory.
        DataFormatError: The prepared copy's classes are not VOC_CLASSES.

    Example:
        >>> for example in voc_tfds("test").take(1):
        ...     print(example["image_id"].numpy(), example["boxes"].numpy())
    """
    import tensorflow_datasets as tfds

    if split not in TFDS_SPLITS:
        raise ValueError(f"voc_tfds has no split {split!r}; choose from {tuple(TFDS_SPLITS)}")
    builder = tfds.builder(f"voc/{year}", data_dir=data_dir)
    if not builder.is_prepared():
        raise DatasetNotFoundError(
            f"tensorflow-datasets' voc/{year} is not prepared in {builder.data_dir}. It cannot "
            f'be downloaded here; with internet run tfds.builder("voc/{year}").'
            "download_and_prepare() and copy the data directory, pass data_dir= a directory "
            "that holds it, or extract the official tars and use voc_devkit()."
        )
    names = tuple(builder.info.features["objects"]["label"].names)
    if names != VOC_CLASSES:
        raise DataFormatError(
            f"voc/{year} in {builder.data_dir} labels its objects {names}, not VOC_CLASSES; "
            "labels would be misread. Prepare it with a tensorflow-datasets whose voc builder "
            "uses the devkit's class order."
        )
    ds = builder.as_dataset(
        split=TFDS_SPLITS[split], decoders={"image": tfds.decode.SkipDecoding()}
    )
    return ds.map(_tfds_record)


def _tfds_record(example: dict) -> dict:
    shape = tf.image.extract_jpeg_shape(example["image"])
    height, width = shape[0], shape[1]
    objects = example["objects"]
    return {
        "image_id": tf.strings.regex_replace(example["image/filename"], r"\.jpg$", ""),
        "image": example["image"],
        "width": width,
        "height": height,
        "boxes": tfds_boxes_to_voc(objects["bbox"], width, height),
        "labels": objects["label"],
        "difficult": objects["is_difficult"],
    }
