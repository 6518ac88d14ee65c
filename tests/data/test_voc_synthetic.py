import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from keras_prelu.data import (
    SEMI_SYNTHETIC_CLASSES,
    load_fashion_mnist,
    make_semi_synthetic_voc,
    parse_annotation,
    voc_devkit,
)
from keras_prelu.data import voc_synthetic as vs
from keras_prelu.data.fashion_mnist import CLASS_NAMES, DEBIAN_DIR

from .imaging import bilinear

pytestmark = pytest.mark.skipif(
    not (DEBIAN_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
)
COUNTS = {"train_images": 14, "test_images": 6}
SEED = 8  # its 20 images hold both kinds of difficult object: tiny and heavily occluded


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    return make_semi_synthetic_voc(tmp_path_factory.mktemp("voc") / "set", **COUNTS, seed=SEED)


@pytest.fixture(scope="module")
def fashion_mnist():
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    return {"train": (x_train[..., 0], y_train), "test": (x_test[..., 0], y_test)}


def photograph(name: str) -> np.ndarray:
    import skimage.data
    from sklearn.datasets import load_sample_images

    if name in ("china", "flower"):
        return dict(zip(("china", "flower"), load_sample_images().images, strict=True))[name]
    photo = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(
        skimage.data, name)()
    return np.repeat(photo[..., None], 3, axis=2) if photo.ndim == 2 else photo


def images(root: Path):
    """(split, image id, XML root, decoded RGB image) of every image, read independently."""
    for split in ("train", "test"):
        for image_id in (root / "ImageSets" / "Main" / f"{split}.txt").read_text().split():
            xml = ET.parse(root / "Annotations" / f"{image_id}.xml").getroot()
            with Image.open(root / "JPEGImages" / f"{image_id}.jpg") as image:
                yield split, image_id, xml, np.asarray(image.convert("RGB"))


def numbers(node, *tags):
    return [int(node.find(tag).text) for tag in tags]


def test_layout_and_annotations_round_trip(made):
    lists = {p.stem: p.read_text().split() for p in (made / "ImageSets" / "Main").glob("*.txt")}
    assert sorted(lists) == ["test", "train", "trainval"]
    assert lists["trainval"] == lists["train"]
    assert lists["train"] == [f"{i:06d}" for i in range(1, 15)]
    assert lists["test"] == [f"{i:06d}" for i in range(15, 21)]
    assert sorted(p.stem for p in (made / "JPEGImages").iterdir()) == lists["train"] + lists["test"]

    totals = {"objects": {"train": 0, "test": 0}, "difficult": {"train": 0, "test": 0}}
    for split, image_id, xml, image in images(made):
        annotation = parse_annotation(made / "Annotations" / f"{image_id}.xml",
                                      SEMI_SYNTHETIC_CLASSES)
        assert annotation["filename"] == f"{image_id}.jpg"
        height, width, depth = image.shape
        assert annotation["size"] == (width, height, depth) == tuple(
            numbers(xml, "size/width", "size/height", "size/depth"))
        assert vs.WIDTHS[0] <= width <= vs.WIDTHS[1] and vs.HEIGHTS[0] <= height <= vs.HEIGHTS[1]
        objects = xml.findall("object")
        assert 1 <= len(objects) <= 5 and len(annotation["objects"]) == len(objects)
        for got, node in zip(annotation["objects"], objects, strict=True):
            box = numbers(node, "bndbox/xmin", "bndbox/ymin", "bndbox/xmax", "bndbox/ymax")
            assert got["name"] == node.find("name").text
            assert got["bbox"] == tuple(box)
            assert 1 <= box[0] <= box[2] <= width and 1 <= box[1] <= box[3] <= height
            assert got["difficult"] == (node.find("difficult").text == "1")
            assert got["truncated"] is False
            totals["objects"][split] += 1
            totals["difficult"][split] += got["difficult"]

    manifest = json.loads((made / "manifest.json").read_text())
    assert manifest["arguments"] == {**COUNTS, "seed": SEED}
    assert manifest["images"] == {"train": 14, "test": 6}
    assert {k: manifest[k] for k in totals} == totals
    # The devkit reader takes the set as a VOC year folder.
    for split, count in (("train", 14), ("trainval", 14), ("test", 6)):
        records = voc_devkit(made, split, class_names=SEMI_SYNTHETIC_CLASSES)
        assert len(records) == count
    assert sum(len(r.boxes) for r in records) == totals["objects"]["test"]


def test_objects_boxes_and_difficult_flags_match_the_pasted_pixels(made, fashion_mnist):
    """Rebuilds every object from its Fashion-MNIST image with the tests' own bilinear
    resampling, paints them in order and checks boxes, pixel counts, the difficult rule and
    the colours in the JPEG."""
    checked, kinds, classes = 0, set(), set()
    for split, _, xml, image in images(made):
        height, width = image.shape[:2]
        owner = np.zeros((height, width), int)  # 1 + index of the object on top
        expected = np.zeros((height, width, 3))
        nodes, areas, ambiguous = xml.findall("object"), [], False
        for k, node in enumerate(nodes, start=1):
            # Train images take train objects, test images test objects: none is in both.
            assert node.find("fashion_mnist/split").text == split
            pixels, labels = fashion_mnist[split]
            index = int(node.find("fashion_mnist/index").text)
            assert node.find("name").text == SEMI_SYNTHETIC_CLASSES[labels[index]]
            classes.add(CLASS_NAMES[labels[index]])
            x, y, side = numbers(node, "paste/x", "paste/y", "paste/side")
            assert vs.OBJECT_SIDES[0] <= side <= vs.OBJECT_SIDES[1]
            assert 1 <= x <= width - side + 1 and 1 <= y <= height - side + 1
            intensity = bilinear(pixels[index][..., None], side, side)[..., 0]
            # float32 (OpenCV) and float64 (here) may disagree right at the threshold.
            ambiguous |= bool((abs(intensity - vs.MASK_THRESHOLD) < 1e-3).any())
            mask = intensity >= vs.MASK_THRESHOLD
            owner[y - 1:y - 1 + side, x - 1:x - 1 + side][mask] = k
            tint = np.array([int(c) for c in node.find("paste/tint").text.split()])
            shade = vs.SHADE_FLOOR + (1 - vs.SHADE_FLOOR) * intensity[..., None] / 255
            expected[y - 1:y - 1 + side, x - 1:x - 1 + side][mask] = (tint * shade)[mask]
            areas.append(int(mask.sum()))
        if ambiguous:
            continue
        checked += 1
        for k, (node, area) in enumerate(zip(nodes, areas, strict=True), start=1):
            rows, cols = np.nonzero(owner == k)
            box = (cols.min() + 1, rows.min() + 1, cols.max() + 1, rows.max() + 1)
            assert tuple(numbers(node, "bndbox/xmin", "bndbox/ymin", "bndbox/xmax",
                                 "bndbox/ymax")) == box
            assert numbers(node, "paste/area", "paste/visible") == [area, len(rows)]
            assert len(rows) >= vs.MIN_VISIBLE * area  # never hidden
            occluded = len(rows) < vs.DIFFICULT_VISIBLE * area
            tiny = max(box[2] - box[0], box[3] - box[1]) + 1 < vs.TINY_SIDE
            assert node.find("difficult").text == str(int(occluded or tiny))
            kinds |= {name for name, is_kind in (("occluded", occluded), ("tiny", tiny))
                      if is_kind}
            # The object is in the JPEG, in its colour (away from edges JPEG blurs).
            inner = ndimage.binary_erosion(owner == k, iterations=2)
            if inner.any():
                assert np.abs(image[inner] - expected[inner]).mean() < 16
    assert checked >= 18
    assert kinds == {"occluded", "tiny"}
    assert len(classes) >= 8


def test_photographs_are_disjoint_between_splits_and_are_the_backgrounds(made):
    used = {"train": set(), "test": set()}
    for split, _, xml, image in images(made):
        name = xml.find("background/photo").text
        used[split].add(name)
        xmin, ymin, xmax, ymax = numbers(xml, *(f"background/{t}" for t in
                                                ("xmin", "ymin", "xmax", "ymax")))
        crop = photograph(name)[ymin - 1:ymax, xmin - 1:xmax]
        if xml.find("background/flip").text == "1":
            crop = crop[:, ::-1]
        height, width = image.shape[:2]
        background = np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize(
            (width, height), Image.BILINEAR)).astype(float)
        # Away from the objects, the image is the recorded crop (another photo differs ~40).
        free = np.ones((height, width), bool)
        for node in xml.findall("object"):
            xmin, ymin, xmax, ymax = numbers(node, *(f"bndbox/{t}" for t in
                                                     ("xmin", "ymin", "xmax", "ymax")))
            free[max(ymin - 4, 0):ymax + 3, max(xmin - 4, 0):xmax + 3] = False
        assert np.abs(image[free] - background[free]).mean() < 8
    assert used["train"] <= set(vs.TRAIN_PHOTOS) and used["test"] <= set(vs.TEST_PHOTOS)
    assert not set(vs.TRAIN_PHOTOS) & set(vs.TEST_PHOTOS)
    assert len(used["train"]) >= 4 and len(used["test"]) >= 2


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_images(made, tmp_path, capsys):
    again = tmp_path / "again"
    again.mkdir()  # an existing empty folder is filled
    assert make_semi_synthetic_voc(again, **COUNTS, seed=SEED) == again
    assert "20/20" in capsys.readouterr().out  # the progress bar
    assert tree(again) == tree(made)
    assert sorted(os.listdir(tmp_path)) == ["again"]  # no temporary folder left behind

    other = tree(make_semi_synthetic_voc(tmp_path / "other", **COUNTS, seed=SEED + 1))
    same = [name for name, data in tree(made).items()
            if name.endswith(".jpg") and other[name] == data]
    assert same == []


def test_rerun_reuses_the_set_and_refuses_other_arguments(made):
    before = {p: p.stat().st_mtime_ns for p in made.rglob("*")}
    assert make_semi_synthetic_voc(made, **COUNTS, seed=SEED) == made
    with pytest.raises(FileExistsError) as info:
        make_semi_synthetic_voc(made, train_images=14, test_images=7, seed=SEED)
    message = str(info.value)
    assert f"{made} holds a semi-synthetic VOC set made with " in message
    assert "'test_images': 6" in message and "'test_images': 7" in message
    assert "delete it" in message
    assert {p: p.stat().st_mtime_ns for p in made.rglob("*")} == before


def test_refuses_a_folder_that_is_not_a_set(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "mine.jpg").write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="is not a semi-synthetic VOC set"):
        make_semi_synthetic_voc(tmp_path / "photos", **COUNTS, seed=0)
    assert os.listdir(tmp_path / "photos") == ["mine.jpg"]
    assert (tmp_path / "photos" / "mine.jpg").read_bytes() == b"precious"
    assert sorted(os.listdir(tmp_path)) == ["photos"]


def test_a_failed_generation_leaves_nothing(tmp_path, monkeypatch):
    save = Image.Image.save
    calls = []

    def disk_full_at_the_fifth_image(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", disk_full_at_the_fifth_image)
    with pytest.raises(OSError, match="No space left"):
        make_semi_synthetic_voc(tmp_path / "set", **COUNTS, seed=SEED)
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()
    assert (make_semi_synthetic_voc(tmp_path / "set", **COUNTS, seed=SEED) / "manifest.json"
            ).is_file()


@pytest.mark.parametrize("counts", [{"train_images": 0, "test_images": 5},
                                    {"train_images": 5, "test_images": 2.5}])
def test_counts_must_be_positive_integers(tmp_path, counts):
    with pytest.raises(ValueError, match="must be a positive integer"):
        make_semi_synthetic_voc(tmp_path / "set", **counts, seed=0)
    assert not (tmp_path / "set").exists()
