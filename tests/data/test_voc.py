import math
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_prelu.data import (
    VOC_CLASSES,
    DataFormatError,
    DatasetNotFoundError,
    parse_annotation,
    tfds_boxes_to_voc,
    voc_devkit,
    voc_tfds,
)

# Debian's labelme-examples: three VOC 2011 images with labelme's VOC XML (9 objects).
LABELME = Path("/usr/share/doc/labelme-examples/examples/bbox_detection/data_dataset_voc")
IDS = ("2011_000003", "2011_000006", "2011_000025")
needs_labelme = pytest.mark.skipif(
    not (LABELME / "Annotations").is_dir(),
    reason="needs Debian's labelme-examples (apt-get install labelme-examples)",
)


def read_text(path: Path) -> dict:
    """Independent reference: the annotation's fields pulled out of the text with regexes."""
    text = path.read_text()

    def field(tag, within):
        (value,) = re.findall(rf"<{tag}>\s*([^<]*?)\s*</{tag}>", within)
        return value

    objects = []
    for block in re.findall(r"<object>(.*?)</object>", text, re.S):
        objects.append({
            "name": field("name", block),
            "coordinates": [float(field(t, block)) for t in ("xmin", "ymin", "xmax", "ymax")],
        })
    size = tuple(int(field(t, text)) for t in ("width", "height", "depth"))
    return {"filename": field("filename", text), "size": size, "objects": objects}


@needs_labelme
def test_real_labelme_annotations_field_by_field():
    names = []
    for image_id in IDS:
        path = LABELME / "Annotations" / f"{image_id}.xml"
        expected = read_text(path)
        annotation = parse_annotation(path)
        assert annotation["filename"] == expected["filename"] == f"{image_id}.jpg"
        assert annotation["size"] == expected["size"]
        with Image.open(LABELME / "JPEGImages" / f"{image_id}.jpg") as image:
            assert annotation["size"][:2] == image.size
        assert len(annotation["objects"]) == len(expected["objects"])
        for got, want in zip(annotation["objects"], expected["objects"], strict=True):
            assert got["name"] == want["name"]
            assert got["bbox"] == tuple(math.floor(c) for c in want["coordinates"])
            assert all(type(c) is int for c in got["bbox"])
            # labelme writes <difficult/>, <truncated/>, <pose/>: empty means no.
            assert got["difficult"] is False and got["truncated"] is False
            names.append(got["name"])
    assert sorted(names) == ["bus", "bus", "car"] + ["person"] * 6
    # Fractional coordinates are floored, as Fast R-CNN's uint16 boxes do:
    # 2011_000006's third person is 254.38461538461536 115.38... 369.38... 292.38...
    third = parse_annotation(LABELME / "Annotations" / "2011_000006.xml")["objects"][2]
    assert third["bbox"] == (254, 115, 369, 292)


def write(tmp_path, body: str, name="annotation.xml",
          size="<size><width>500</width><height>375</height><depth>3</depth></size>") -> Path:
    path = tmp_path / name
    path.write_text(f"<annotation><filename>x.jpg</filename>{size}{body}</annotation>")
    return path


def obj(name="dog", box=("48", "240", "195", "371"), extra="") -> str:
    coordinates = "".join(
        f"<{tag}>{value}</{tag}>" for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box,
                                                         strict=True))
    return f"<object><name>{name}</name>{extra}<bndbox>{coordinates}</bndbox></object>"


def test_quirks_of_real_files(tmp_path):
    path = write(tmp_path, "".join([
        obj(box=("273.0", "12.5", "499.9", "375")),  # floats, the image's last pixel
        obj(name="\n  Person \t", box=(" 1 ", "1", "500", "375"),  # the whole image
            extra="<pose></pose><truncated>1</truncated><difficult>0</difficult>"),
        obj(name="pottedplant", extra="<difficult>1</difficult><truncated/><pose/>"),
        obj(box=("7", "9", "7", "9"), extra="<occluded>1</occluded>"),  # 1 pixel, unknown tag
    ]))
    objects = parse_annotation(path)["objects"]
    assert [o["bbox"] for o in objects] == [
        (273, 12, 499, 375), (1, 1, 500, 375), (48, 240, 195, 371), (7, 9, 7, 9)]
    assert [o["name"] for o in objects] == ["dog", "person", "pottedplant", "dog"]
    assert [o["difficult"] for o in objects] == [False, False, True, False]
    assert [o["truncated"] for o in objects] == [False, True, False, False]


def test_no_objects(tmp_path):
    assert parse_annotation(write(tmp_path, ""))["objects"] == []


def test_class_names_decide_what_is_known(tmp_path):
    path = write(tmp_path, obj(name="Bag"))
    assert parse_annotation(path, ("boot", "bag"))["objects"][0]["name"] == "bag"
    with pytest.raises(DataFormatError, match="unknown class 'bag'"):
        parse_annotation(path)


@pytest.mark.parametrize(
    "body, size, problem",
    [
        (obj()[:-9], None, "not well-formed XML"),
        (obj(), "", "<annotation> has no <size>"),
        (obj(), "<size><width>500</width><depth>3</depth></size>", "<size> has no <height>"),
        (obj(), "<size><width>500</width><height>3x</height><depth>3</depth></size>",
         "<size> <height> '3x' is not an integer"),
        ("<object><name>dog</name></object>", None, "object 1 (dog) has no <bndbox>"),
        ("<object><bndbox/></object>", None, "object 1 has no <name>"),
        (obj() + obj(box=("1", "2", "3", "")), None, "object 2 (dog) <bndbox> has no <ymax>"),
        (obj(box=("1", "2", "abc", "4")), None, "<xmax> 'abc' is not a number"),
        (obj(box=("1", "2", "nan", "4")), None, "<xmax> 'nan' is not a number"),
        (obj(box=("10", "2", "9", "4")), None, "inverted box (10, 2, 9, 4)"),
        (obj(box=("1", "20", "9", "19.5")), None, "inverted box (1, 20, 9, 19)"),
        (obj(box=("0", "2", "9", "4")), None, "box (0, 2, 9, 4) is outside the 500 x 375"),
        (obj(box=("1", "2", "501", "4")), None, "box (1, 2, 501, 4) is outside"),
        (obj(box=("1", "2", "9", "376")), None, "box (1, 2, 9, 376) is outside"),
        (obj(name="potted plant"), None, "unknown class 'potted plant'; the classes are "
         "aeroplane, bicycle"),
        (obj(extra="<difficult>yes</difficult>"), None, "<difficult> 'yes' is not 0 or 1"),
    ],
)
def test_each_error_names_the_file_and_the_problem(tmp_path, body, size, problem):
    kwargs = {} if size is None else {"size": size}
    path = write(tmp_path, body, **kwargs)
    with pytest.raises(DataFormatError) as info:
        parse_annotation(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert problem in message


def test_missing_filename_and_wrong_root(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text("<annotation><size><width>5</width><height>5</height><depth>3</depth>"
                    "</size></annotation>")
    with pytest.raises(DataFormatError, match="<annotation> has no <filename>"):
        parse_annotation(path)
    path.write_text("<doc/>")
    with pytest.raises(DataFormatError, match="the root element is <doc>"):
        parse_annotation(path)


def test_voc_classes_are_the_devkits_order():
    import tensorflow_datasets as tfds

    # tfds's builder lists the classes of the devkit's VOCinit.m, in its order.
    names = tfds.builder("voc/2007").info.features["objects"]["label"].names
    assert VOC_CLASSES == tuple(names)
    assert len(VOC_CLASSES) == 20 and VOC_CLASSES[14] == "person"


SPLITS = {"train": IDS[:1], "val": IDS[1:2], "trainval": IDS[:2], "test": IDS[2:]}


@pytest.fixture
def devkit(tmp_path):
    """The labelme files (which have no ImageSets) as a VOCdevkit with four split lists."""
    base = tmp_path / "VOCdevkit" / "VOC2007"
    for folder in ("Annotations", "JPEGImages"):
        shutil.copytree(LABELME / folder, base / folder)
    (base / "ImageSets" / "Main").mkdir(parents=True)
    for split, ids in SPLITS.items():
        (base / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    # Class-specific lists (as in the official tars) are not splits.
    (base / "ImageSets" / "Main" / "person_train.txt").write_text(f"{IDS[0]}  1\n")
    return tmp_path / "VOCdevkit"


@needs_labelme
def test_devkit_records_match_the_files(devkit):
    for split, ids in SPLITS.items():
        records = voc_devkit(devkit, split)
        assert [r.image_id for r in records] == list(ids)
        for record in records:
            expected = read_text(devkit / "VOC2007" / "Annotations" / f"{record.image_id}.xml")
            assert record.image_path == devkit / "VOC2007" / "JPEGImages" / f"{record.image_id}.jpg"
            with Image.open(record.image_path) as image:
                assert (record.width, record.height) == image.size
            boxes = [[math.floor(c) for c in o["coordinates"]] for o in expected["objects"]]
            assert record.boxes.dtype == np.int32 and record.boxes.shape == (len(boxes), 4)
            np.testing.assert_array_equal(record.boxes, boxes)
            assert [VOC_CLASSES[i] for i in record.labels] == [
                o["name"] for o in expected["objects"]]
            assert record.difficult.dtype == bool and not record.difficult.any()
    # root may also be the VOC2007 folder itself.
    same = voc_devkit(devkit / "VOC2007", "test")
    np.testing.assert_array_equal(same[0].boxes, voc_devkit(devkit, "test")[0].boxes)


def test_devkit_difficult_flags_and_empty_images(tmp_path):
    base = tmp_path / "VOC2007"
    for folder in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (base / folder).mkdir(parents=True)
    write(base / "Annotations", obj(extra="<difficult>1</difficult>") + obj(name="cat"),
          name="a.xml")
    write(base / "Annotations", "", name="b.xml")
    for i in "ab":
        (base / "JPEGImages" / f"{i}.jpg").write_bytes(b"")
    (base / "ImageSets" / "Main" / "train.txt").write_text("a\n\nb\n")
    a, b = voc_devkit(tmp_path, "train")
    assert a.difficult.tolist() == [True, False]
    assert a.labels.tolist() == [VOC_CLASSES.index("dog"), VOC_CLASSES.index("cat")]
    assert b.boxes.shape == (0, 4) and b.labels.shape == b.difficult.shape == (0,)


def assert_how_to_get_voc(message, *tars):
    assert "http://host.robots.ox.ac.uk/pascal/VOC/voc2007/" in message
    for tar in tars:
        assert tar in message
    assert "extract them" in message and "make_semi_synthetic_voc()" in message


def test_missing_devkit_says_how_to_get_voc(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        voc_devkit(tmp_path / "nowhere", "trainval")
    message = str(info.value)
    assert f"{tmp_path / 'nowhere'}/Annotations/" in message
    assert_how_to_get_voc(message, "VOCtrainval_06-Nov-2007.tar")
    assert "VOCtest" not in message


@needs_labelme
def test_missing_split_file_lists_the_splits_there(devkit):
    (devkit / "VOC2007" / "ImageSets" / "Main" / "test.txt").unlink()
    with pytest.raises(DatasetNotFoundError) as info:
        voc_devkit(devkit, "test")
    message = str(info.value)
    assert f"no split file {devkit}/VOC2007/ImageSets/Main/test.txt" in message
    assert "(the splits there: train, trainval, val)" in message
    assert_how_to_get_voc(message, "VOCtest_06-Nov-2007.tar")


@needs_labelme
def test_missing_images_and_annotations_are_named(devkit):
    (devkit / "VOC2007" / "JPEGImages" / f"{IDS[1]}.jpg").unlink()
    with pytest.raises(DatasetNotFoundError) as info:
        voc_devkit(devkit, "trainval")
    assert f"1 of the 2 images of {devkit}/VOC2007/ImageSets/Main/trainval.txt are missing: " \
        f"{devkit}/VOC2007/JPEGImages/{IDS[1]}.jpg" in str(info.value)
    (devkit / "VOC2007" / "Annotations" / f"{IDS[0]}.xml").unlink()
    with pytest.raises(DatasetNotFoundError,
                       match=f"1 of the 2 annotations .*: .*/Annotations/{IDS[0]}.xml"):
        voc_devkit(devkit, "trainval")


@needs_labelme
def test_malformed_annotation_in_a_devkit_names_it(devkit):
    path = devkit / "VOC2007" / "Annotations" / f"{IDS[2]}.xml"
    path.write_text(path.read_text().replace("<xmax>435.0</xmax>", "<xmax>83</xmax>"))
    with pytest.raises(DataFormatError, match=re.escape(f"{path}: object 1 (bus): inverted")):
        voc_devkit(devkit, "test")


def tfds_normalise(coordinates, width, height):
    """What tfds's voc builder stores: BBox(ymin / height, xmin / width, ymax / height,
    xmax / width) of the XML's floats, kept as float32 by its BBoxFeature."""
    xmin, ymin, xmax, ymax = np.moveaxis(np.asarray(coordinates, np.float64), -1, 0)
    return np.stack([ymin / height, xmin / width, ymax / height, xmax / width], -1).astype(
        np.float32)


@needs_labelme
def test_tfds_boxes_round_trip_on_the_real_files():
    for image_id in IDS:
        expected = read_text(LABELME / "Annotations" / f"{image_id}.xml")
        width, height, _ = expected["size"]
        coordinates = [o["coordinates"] for o in expected["objects"]]
        voc = tfds_boxes_to_voc(tfds_normalise(coordinates, width, height), width, height)
        np.testing.assert_array_equal(voc.numpy(), np.floor(coordinates))


def test_tfds_boxes_round_trip_on_random_boxes():
    rng = np.random.default_rng(0)
    for _ in range(200):
        width, height = (int(s) for s in rng.integers(1, 10_000, size=2))
        x = np.sort(rng.integers(1, width + 1, size=(500, 2)), axis=1)
        y = np.sort(rng.integers(1, height + 1, size=(500, 2)), axis=1)
        boxes = np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], 1)
        voc = tfds_boxes_to_voc(tfds_normalise(boxes, width, height), width, height).numpy()
        assert voc.dtype == np.int32
        np.testing.assert_array_equal(voc, boxes)
        # Fractional coordinates come back floored, like parse_annotation's, except within
        # size * 2**-22 px below the next integer (left out here).
        sizes = np.array([width, height, width, height])
        fractional = np.minimum(boxes + rng.uniform(0, 1 - sizes * 2.0**-22, boxes.shape), sizes)
        voc = tfds_boxes_to_voc(tfds_normalise(fractional, width, height), width, height)
        np.testing.assert_array_equal(voc.numpy(), np.floor(fractional))


@pytest.fixture
def prepared_tfds(devkit, tmp_path, monkeypatch):
    """tfds's real voc/2007 builder run on the labelme devkit instead of its downloads.

    tfds's builder needs <pose> text, so the copies fill the labelme XML's empty tags (and
    mark one object difficult); the fractional coordinates are kept."""
    import tensorflow_datasets as tfds

    for path in (devkit / "VOC2007" / "Annotations").glob("*.xml"):
        text = path.read_text().replace("<pose/>", "<pose>Unspecified</pose>")
        text = text.replace("<truncated/>", "<truncated>0</truncated>")
        text = text.replace("<difficult/>", "<difficult>1</difficult>", 1)
        path.write_text(text.replace("<difficult/>", "<difficult>0</difficult>"))
    extracted = devkit.parent  # holds VOCdevkit/VOC2007, as the official tars extract
    # The download is the only part replaced: tfds's own voc test does the same.
    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract",
                        lambda self, urls: {key: extracted for key in urls})
    data_dir = tmp_path / "tfds"
    tfds.builder("voc/2007", data_dir=data_dir).download_and_prepare()
    return devkit, data_dir


@needs_labelme
def test_voc_tfds_matches_the_devkit(prepared_tfds):
    devkit, data_dir = prepared_tfds
    for split in SPLITS:
        records = {r.image_id: r for r in voc_devkit(devkit, split)}
        examples = list(voc_tfds(split, data_dir=data_dir).as_numpy_iterator())
        assert sorted(e["image_id"].decode() for e in examples) == sorted(records)
        for example in examples:
            record = records[example["image_id"].decode()]
            assert example["image"] == record.image_path.read_bytes()
            assert (example["width"], example["height"]) == (record.width, record.height)
            assert example["boxes"].dtype == np.int32
            np.testing.assert_array_equal(example["boxes"], record.boxes)
            np.testing.assert_array_equal(example["labels"], record.labels)
            np.testing.assert_array_equal(example["difficult"], record.difficult)
    assert sum(r.difficult.sum() for r in voc_devkit(devkit, "trainval")) == 2


def test_voc_tfds_not_prepared_is_a_clear_error(tmp_path):
    start = time.monotonic()
    with pytest.raises(DatasetNotFoundError) as info:
        voc_tfds("test", data_dir=tmp_path)
    assert time.monotonic() - start < 20  # no download attempt
    message = str(info.value)
    assert f"voc/2007 is not prepared in {tmp_path}" in message
    assert "cannot be downloaded here" in message and "voc_devkit()" in message
    with pytest.raises(ValueError, match="no split 'validation'"):
        voc_tfds("validation", data_dir=tmp_path)
