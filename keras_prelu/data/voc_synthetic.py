"""A semi-synthetic detection set in VOC's layout, for training detectors where VOC is unavailable.

Real objects on real photographs: Fashion-MNIST's 28x28 greyscale photos of clothing (10
classes) pasted onto random crops of the photographs bundled with scikit-image and
scikit-learn, written as a VOCdevkit year folder that `voc_devkit` reads.

Design (the constants below):
  * Backgrounds: a random crop of a photograph (the largest crop of the image's aspect ratio,
    scaled by a factor in [0.4, 1], at a random place), flipped left-right half the time,
    resized to W x H with W uniform in 320..400 and H in 240..300 px (CPU training must be
    fast). Greyscale photographs are used as RGB. Train and test use different photographs:
    TRAIN_PHOTOS and TEST_PHOTOS.
  * Objects: 1 to 5 per image (uniform), each a uniformly drawn Fashion-MNIST image (its train
    split for train images, its test split for test images: no object is in both), resized
    bilinearly to a square of side log-uniform in 24..128 px at a uniform position inside the
    image. Its pixels are those of intensity >= MASK_THRESHOLD after resizing (Fashion-MNIST's
    background is 0); they are painted opaque in a random saturated colour (hue uniform,
    saturation 0.6..1, value 1) shaded by the object's own intensity (35% at 0, 100% at 255),
    so its texture is kept and it stands out from the photograph; the colour says nothing of
    the class. Later objects cover earlier ones. A position that would leave an earlier object
    with less than MIN_VISIBLE of its pixels visible is redrawn (PLACEMENT_TRIES times, then the
    object is left out), so no object is hidden.
  * Boxes: the tight box of an object's visible pixels (VOC annotates the visible extent), in
    VOC's 1-based inclusive pixels. Objects lie inside the image, so none is truncated.
  * Difficult: an object is marked difficult if it is heavily occluded (less than
    DIFFICULT_VISIBLE of its pixels visible) or tiny (its box's longer side < TINY_SIDE px).
  * Files: JPEGImages/<id>.jpg (JPEG quality 90), Annotations/<id>.xml (VOC XML; each object
    also records its Fashion-MNIST split and index and where it was pasted, and the annotation
    the background's photograph and crop), ImageSets/Main/{train,trainval,test}.txt (trainval =
    train: there is no val split) and manifest.json (the arguments and totals). Image ids are
    000001.. for train, then test.
"""

import functools
import json
import math
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import keras
import numpy as np

from keras_prelu.data.fashion_mnist import load_fashion_mnist

# Fashion-MNIST's classes (keras_prelu.data.fashion_mnist.CLASS_NAMES) as VOC-style names.
SEMI_SYNTHETIC_CLASSES = (
    "tshirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "boot",
)
# Backgrounds: natural scenes, objects and textures, colour and greyscale in both splits.
TRAIN_PHOTOS = ("astronaut", "brick", "camera", "china", "coffee", "grass", "motorcycle", "rocket")
TEST_PHOTOS = ("chelsea", "coins", "flower", "gravel")
WIDTHS = (320, 400)  # inclusive ranges, px
HEIGHTS = (240, 300)
CROP_SCALES = (0.4, 1.0)
OBJECTS_PER_IMAGE = (1, 5)
OBJECT_SIDES = (24, 128)
# Of 255. Not an integer or a simple fraction, which resized values often equal exactly: rounding
# (float32 vs float64, one SIMD path or another) never decides whether a pixel is pasted.
MASK_THRESHOLD = 31.7
SHADE_FLOOR = 0.35
MIN_VISIBLE = 0.3
PLACEMENT_TRIES = 20
DIFFICULT_VISIBLE = 0.5
TINY_SIDE = 28  # Fashion-MNIST's own size
JPEG_QUALITY = 90
MANIFEST = "manifest.json"
_VERSION = 1  # of the generator: a set made by another version is not reused
_SPLITS = (("train", TRAIN_PHOTOS), ("test", TEST_PHOTOS))


def make_semi_synthetic_voc(
    root: str | os.PathLike, *, train_images: int = 2000, test_images: int = 500, seed: int = 0
) -> Path:
    """Generates the semi-synthetic set into `root`, or reuses the one already there.

    Deterministic: the same arguments give byte-identical files (with the same NumPy, OpenCV
    and Pillow). Written atomically: the set is generated in a hidden temporary folder next to
    `root` and renamed into place, so `root` never holds a partial set (a killed run leaves
    that temporary folder behind; an interrupted one removes it). The default size takes
    about 30 s (~12 ms per image on a shared 2-core CPU) and 82 MB.

    Args:
        root: The set's folder (a VOC year folder: Annotations, JPEGImages, ImageSets). It may
            exist if empty, or if it holds a set made with the same arguments.
        train_images: Number of training images.
        test_images: Number of test images.
        seed: Seed of everything random.

    Returns:
        `root` as a Path.

    Raises:
        ValueError: A count is not a positive integer.
        FileExistsError: `root` holds a set made with other arguments or by another version of
            this generator, or other files; nothing in it is changed.
        DatasetNotFoundError: Fashion-MNIST is not available (see `load_fashion_mnist`).

    Example:
        >>> root = make_semi_synthetic_voc("data/semi_synthetic_voc", train_images=2000,
        ...                                test_images=500, seed=0)
        >>> train = voc_devkit(root, "trainval", class_names=SEMI_SYNTHETIC_CLASSES)
    """
    for name, count in (("train_images", train_images), ("test_images", test_images)):
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"{name} must be a positive integer, got {count!r}")
    root = Path(root)
    arguments = {"train_images": train_images, "test_images": test_images, "seed": int(seed)}
    if _reusable(root, arguments):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))
    try:
        staged = tmp / root.name  # made by mkdir, so with the user's permissions (mkdtemp: 0700)
        _generate(staged, arguments)
        try:
            os.rename(staged, root)  # replaces an empty root; fails if another run filled it
        except OSError:
            if not _reusable(root, arguments):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _reusable(root: Path, arguments: dict) -> bool:
    """Whether `root` already holds this set; False if it is absent or empty, else an error."""
    if not root.exists() or (root.is_dir() and not any(root.iterdir())):
        return False
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise FileExistsError(
            f"{root} exists and is not a semi-synthetic VOC set (no readable {MANIFEST}: {e}); "
            "pass another root or empty it"
        ) from None
    if manifest.get("version") == _VERSION and manifest.get("arguments") == arguments:
        return True
    made = manifest.get("arguments")
    raise FileExistsError(
        f"{root} holds a semi-synthetic VOC set made with {made} (generator version "
        f"{manifest.get('version')}), not {arguments} (version {_VERSION}); pass those "
        "arguments to reuse it, or another root, or delete it to make the new set"
    )


def _generate(directory: Path, arguments: dict) -> None:
    # Pillow, OpenCV, scikit-image and scikit-learn are optional: imported where used.
    from PIL import Image

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    pools = {"train": (x_train[..., 0], y_train), "test": (x_test[..., 0], y_test)}
    counts = {"train": arguments["train_images"], "test": arguments["test_images"]}
    photos = _photos()
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (directory / sub).mkdir(parents=True)
    progress = keras.utils.Progbar(sum(counts.values()), unit_name="image")
    totals = {"objects": {}, "difficult": {}}
    number = 0
    for split_number, (split, names) in enumerate(_SPLITS):
        ids, objects, difficult = [], 0, 0
        for k in range(counts[split]):
            number += 1
            image_id = f"{number:06d}"
            rng = np.random.default_rng([arguments["seed"], split_number, k])
            name = names[rng.integers(len(names))]
            image, background, placed = _render(rng, photos[name], *pools[split])
            Image.fromarray(image).save(
                directory / "JPEGImages" / f"{image_id}.jpg", quality=JPEG_QUALITY)
            xml = _annotation_xml(image_id, image.shape, name, background, split, placed)
            (directory / "Annotations" / f"{image_id}.xml").write_bytes(xml)
            ids.append(image_id)
            objects += len(placed)
            difficult += sum(p["difficult"] for p in placed)
            progress.update(number)
        lists = ("train", "trainval") if split == "train" else ("test",)
        for list_name in lists:
            (directory / "ImageSets" / "Main" / f"{list_name}.txt").write_text(
                "".join(f"{i}\n" for i in ids), encoding="utf-8")
        totals["objects"][split], totals["difficult"][split] = objects, difficult
    manifest = {
        "generator": "keras_prelu.data.make_semi_synthetic_voc",
        "version": _VERSION,
        "arguments": arguments,
        "class_names": list(SEMI_SYNTHETIC_CLASSES),
        "photos": {split: list(names) for split, names in _SPLITS},
        "images": counts,
        **totals,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


@functools.cache
def _photos() -> dict[str, np.ndarray]:
    """The photographs as uint8 RGB arrays, by name."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    photos = {"china": china, "flower": flower,
              "motorcycle": skimage.data.stereo_motorcycle()[0]}  # the left view
    for name in ("astronaut", "brick", "camera", "chelsea", "coffee", "coins", "grass", "gravel",
                 "rocket"):
        photos[name] = getattr(skimage.data, name)()
    return {name: np.repeat(p[..., None], 3, axis=2) if p.ndim == 2 else p
            for name, p in photos.items()}


def _render(rng, photo, pool_images, pool_labels):
    """One image: a background crop of `photo` and 1-5 objects from the pool.

    Returns:
        (uint8 image, background crop dict, list of placed-object dicts in paint order).
    """
    import cv2

    background, crop = _background(rng, photo)
    height, width = background.shape[:2]
    image = background.copy()
    owner = np.zeros((height, width), np.int32)  # 1 + index of the object on top; 0: none
    placed = []
    for _ in range(rng.integers(OBJECTS_PER_IMAGE[0], OBJECTS_PER_IMAGE[1] + 1)):
        index = int(rng.integers(len(pool_images)))
        side = round(math.exp(rng.uniform(math.log(OBJECT_SIDES[0]),
                                          math.log(OBJECT_SIDES[1]))))
        intensity = cv2.resize(pool_images[index].astype(np.float32), (side, side),
                               interpolation=cv2.INTER_LINEAR)
        mask = intensity >= MASK_THRESHOLD
        tint = _tint(rng)
        for _ in range(PLACEMENT_TRIES):
            x, y = int(rng.integers(width - side + 1)), int(rng.integers(height - side + 1))
            covered = np.bincount(owner[y:y + side, x:x + side][mask], minlength=len(placed) + 1)
            if all(p["visible"] - covered[i + 1] >= MIN_VISIBLE * p["area"]
                   for i, p in enumerate(placed)):
                break
        else:
            continue
        for i, p in enumerate(placed):
            p["visible"] -= int(covered[i + 1])
        colour = np.rint(tint * (SHADE_FLOOR + (1 - SHADE_FLOOR) / 255 * intensity[..., None]))
        image[y:y + side, x:x + side][mask] = colour.astype(np.uint8)[mask]
        owner[y:y + side, x:x + side][mask] = len(placed) + 1
        area = int(mask.sum())
        placed.append({"index": index, "label": int(pool_labels[index]), "x": x + 1, "y": y + 1,
                       "side": side, "tint": tuple(int(c) for c in tint), "area": area,
                       "visible": area})
    for i, p in enumerate(placed):
        x, y, side = p["x"] - 1, p["y"] - 1, p["side"]
        rows, cols = np.nonzero(owner[y:y + side, x:x + side] == i + 1)
        p["bbox"] = tuple(int(v) for v in (x + cols.min() + 1, y + rows.min() + 1,
                                           x + cols.max() + 1, y + rows.max() + 1))
        longer = max(p["bbox"][2] - p["bbox"][0], p["bbox"][3] - p["bbox"][1]) + 1
        p["difficult"] = p["visible"] < DIFFICULT_VISIBLE * p["area"] or longer < TINY_SIDE
    return image, crop, placed


def _background(rng, photo):
    """A random crop of the photograph, flipped half the time, resized to W x H."""
    import cv2

    width = int(rng.integers(WIDTHS[0], WIDTHS[1] + 1))
    height = int(rng.integers(HEIGHTS[0], HEIGHTS[1] + 1))
    photo_height, photo_width = photo.shape[:2]
    largest = min(photo_width, photo_height * width / height)  # width of the largest crop
    crop_width = round(largest * rng.uniform(*CROP_SCALES))
    crop_height = min(photo_height, round(crop_width * height / width))
    x = int(rng.integers(photo_width - crop_width + 1))
    y = int(rng.integers(photo_height - crop_height + 1))
    flip = bool(rng.random() < 0.5)
    crop = photo[y:y + crop_height, x:x + crop_width]
    if flip:
        crop = crop[:, ::-1]
    shrink = crop_width > width
    background = cv2.resize(np.ascontiguousarray(crop), (width, height),
                            interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    # The crop in the photograph's VOC-style 1-based inclusive pixels.
    box = (x + 1, y + 1, x + crop_width, y + crop_height)
    return background, {"bbox": box, "flip": flip}


def _tint(rng) -> np.ndarray:
    """A saturated colour: hue uniform, saturation in [0.6, 1], value 1; RGB integers 0..255."""
    hue, saturation = rng.random() * 6, rng.uniform(0.6, 1.0)
    k = (np.array([5.0, 3.0, 1.0]) + hue) % 6  # HSV to RGB
    return np.rint(255 * (1 - saturation * np.clip(np.minimum(k, 4 - k), 0, 1)))


def _annotation_xml(image_id, shape, photo, crop, split, placed) -> bytes:
    def add(parent, tag, text=None):
        node = ET.SubElement(parent, tag)
        if text is not None:
            node.text = str(text)
        return node

    root = ET.Element("annotation")
    add(root, "folder", "semi_synthetic_voc")  # not root's name: the bytes do not depend on it
    add(root, "filename", f"{image_id}.jpg")
    source = add(root, "source")
    add(source, "database", "keras-prelu semi-synthetic VOC")
    add(source, "annotation", "keras_prelu.data.make_semi_synthetic_voc")
    background = add(root, "background")  # the crop of the photograph under the objects
    add(background, "photo", photo)
    for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), crop["bbox"], strict=True):
        add(background, tag, value)
    add(background, "flip", int(crop["flip"]))
    size = add(root, "size")
    for tag, value in (("width", shape[1]), ("height", shape[0]), ("depth", shape[2])):
        add(size, tag, value)
    add(root, "segmented", 0)
    for p in placed:
        node = add(root, "object")
        add(node, "name", SEMI_SYNTHETIC_CLASSES[p["label"]])
        add(node, "pose", "Unspecified")
        add(node, "truncated", 0)
        add(node, "difficult", int(p["difficult"]))
        bndbox = add(node, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), p["bbox"], strict=True):
            add(bndbox, tag, value)
        source = add(node, "fashion_mnist")
        add(source, "split", split)
        add(source, "index", p["index"])
        # The pasted square (1-based top-left x, y; side), its pixels, those left visible and
        # its colour at full intensity.
        paste = add(node, "paste")
        for tag in ("x", "y", "side", "area", "visible"):
            add(paste, tag, p[tag])
        add(paste, "tint", " ".join(map(str, p["tint"])))
    ET.indent(root, "  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"
