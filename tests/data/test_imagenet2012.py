import io
import tarfile

import pytest
import tensorflow_datasets as tfds

from keras_prelu.data import DatasetNotFoundError, imagenet2012, make_image_dataset

from .imaging import encode


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture(scope="module")
def official_tars(tmp_path_factory, photos):
    """Real photos in the layout of the official ILSVRC2012 train and val tars."""
    manual = tmp_path_factory.mktemp("manual")
    jpegs = {name: encode(photo, quality=90) for name, photo in photos.items()}
    train = {
        "n01440764": [jpegs["chelsea"], jpegs["coffee"]],
        "n01443537": [jpegs["china"]],
    }
    with tarfile.open(manual / "ILSVRC2012_img_train.tar", "w") as tar:
        for synset, images in train.items():
            inner = io.BytesIO()
            with tarfile.open(fileobj=inner, mode="w") as per_class:
                for i, data in enumerate(images):
                    add(per_class, f"{synset}_{i}.JPEG", data)
            add(tar, f"{synset}.tar", inner.getvalue())
    val = [jpegs["astronaut"], jpegs["flower"]]
    with tarfile.open(manual / "ILSVRC2012_img_val.tar", "w") as tar:
        for i, data in enumerate(val):
            add(tar, f"ILSVRC2012_val_{i + 1:08d}.JPEG", data)
    return manual, train, val


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, official_tars):
    manual, _, _ = official_tars
    data_dir = tmp_path_factory.mktemp("tfds")
    return data_dir, imagenet2012("validation", data_dir=data_dir, manual_dir=manual)


def test_validation_split_from_the_official_tar(prepared, official_tars):
    _, _, val = official_tars
    _, source = prepared
    assert source.num_examples == 2 and len(source.class_names) == 1000
    records = {bytes(x.numpy()): int(y) for _, x, y in source.records()}
    # The bytes are the original JPEGs; labels follow tfds' list of validation synsets.
    synsets = tfds.core.tfds_path("datasets/imagenet2012/validation_labels.txt").read_text()
    expected = synsets.split()[:2]
    assert [source.class_names[records[data]] for data in val] == expected


def test_train_split_feeds_the_training_pipeline(prepared, official_tars):
    data_dir, _ = prepared
    _, train, _ = official_tars
    source = imagenet2012("train", data_dir=data_dir)  # prepared: no manual_dir needed
    assert source.num_examples == 3
    ((images, labels),) = list(make_image_dataset(source, 3, mode="train", mean=0.0, seed=1))
    assert images.shape == (3, 224, 224, 3)
    assert sorted(source.class_names[y] for y in labels.numpy()) == sorted(
        synset for synset, images in train.items() for _ in images
    )


def test_split_missing_from_the_prepared_copy(prepared):
    data_dir, _ = prepared
    with pytest.raises(DatasetNotFoundError, match="prepared without the 'test' split"):
        imagenet2012("test", data_dir=data_dir)


def test_missing_manual_dir_says_what_to_put_where(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        imagenet2012("train", data_dir=tmp_path / "tfds")
    message = str(info.value)
    assert "no manual_dir was given" in message
    assert "ILSVRC2012_img_train.tar" in message and "ILSVRC2012_img_val.tar" in message
    assert "https://image-net.org/download-images" in message and "manual_dir=" in message


def test_manual_dir_without_the_tar(tmp_path):
    (tmp_path / "manual").mkdir()
    with pytest.raises(DatasetNotFoundError, match="manual lacks ILSVRC2012_img_val.tar"):
        imagenet2012("validation", data_dir=tmp_path / "tfds", manual_dir=tmp_path / "manual")


def test_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="imagenet2012 has no split 'val'"):
        imagenet2012("val", data_dir=tmp_path)
