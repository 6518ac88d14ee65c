import json
import os

import numpy as np
import pytest

from keras_prelu.data import (
    CorruptImageError,
    DataFormatError,
    DatasetNotFoundError,
    image_folder,
    make_image_dataset,
)

from .imaging import encode


@pytest.fixture
def folder(tmp_path, photos):
    """Three classes of real photos in every supported colour model, plus two corrupt files."""
    root = tmp_path / "images"
    files = {
        "cat/chelsea.jpg": encode(photos["chelsea"]),
        "cat/nested/chelsea_grey.jpeg": encode(photos["chelsea"], mode="L"),
        "coffee/coffee.png": encode(photos["coffee"], "PNG"),
        "coffee/coffee_cmyk.JPG": encode(photos["coffee"], mode="CMYK"),
        "space/astronaut_alpha.png": encode(photos["astronaut"], "PNG", mode="RGBA"),
        "space/china.gif": encode(photos["china"], "GIF"),
        "space/flower.bmp": encode(photos["flower"], "BMP"),
        "cat/random.jpg": np.random.default_rng(0).bytes(5000),
        "coffee/truncated.jpg": encode(photos["coffee"])[:20_000],
        "space/notes.txt": b"not an image",
        "space/.hidden.jpg": b"ignored",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_corrupt_files_raise_with_paths_and_reasons(folder, tmp_path):
    with pytest.raises(CorruptImageError) as info:
        image_folder(folder, cache_dir=tmp_path / "cache")
    message = str(info.value)
    assert isinstance(info.value, DataFormatError)
    assert "2 of 9 images" in message
    assert f"{folder / 'cat/random.jpg'}: " in message
    assert f"{folder / 'coffee/truncated.jpg'}: " in message
    assert "Invalid JPEG data" in message  # the decoder's reason
    assert "on_corrupt='skip'" in message


def test_skip_leaves_corrupt_files_out_with_a_warning(folder, tmp_path):
    with pytest.warns(UserWarning, match="cannot be decoded") as record:
        source = image_folder(folder, on_corrupt="skip", cache_dir=tmp_path / "cache")
    assert str(folder / "cat/random.jpg") in str(record[0].message)
    assert source.class_names == ("cat", "coffee", "space")
    assert source.num_examples == 7
    assert set(source.skipped) == {
        str(folder / "cat/random.jpg"),
        str(folder / "coffee/truncated.jpg"),
    }
    names = {
        os.path.relpath(p, folder): int(label)
        for p, label in zip(source.paths, source.labels, strict=True)
    }
    assert names == {
        "cat/chelsea.jpg": 0,
        "cat/nested/chelsea_grey.jpeg": 0,
        "coffee/coffee.png": 1,
        "coffee/coffee_cmyk.JPG": 1,
        "space/astronaut_alpha.png": 2,
        "space/china.gif": 2,
        "space/flower.bmp": 2,
    }
    # Every kept image goes through a whole training epoch without error.
    ds = make_image_dataset(source, 7, mode="train", mean=0.0, seed=0)
    ((images, labels),) = list(ds)
    assert images.shape == (7, 224, 224, 3)
    assert sorted(labels.numpy()) == [0, 0, 1, 1, 2, 2, 2]


def test_manifest_caches_the_scan_by_path_size_and_mtime(folder, tmp_path):
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning):
        source = image_folder(folder, on_corrupt="skip", cache_dir=cache)
    manifest = json.loads(source.manifest.read_text())
    assert source.manifest.parent == cache
    entry = manifest["files"]["coffee/truncated.jpg"]
    stat = os.stat(folder / "coffee/truncated.jpg")
    assert entry[:2] == [stat.st_size, stat.st_mtime_ns] and "Invalid JPEG" in entry[2]
    assert manifest["files"]["cat/chelsea.jpg"][2] is None

    # An unchanged file is not decoded again: its cached verdict is used as is.
    manifest["files"]["cat/chelsea.jpg"][2] = "verdict from the manifest"
    source.manifest.write_text(json.dumps(manifest))
    with pytest.warns(UserWarning, match="chelsea.jpg: verdict from the manifest"):
        image_folder(folder, on_corrupt="skip", cache_dir=cache)

    # A changed file (new size and mtime) is scanned again.
    (folder / "coffee/truncated.jpg").write_bytes((folder / "coffee/coffee.png").read_bytes())
    (folder / "cat/random.jpg").unlink()
    os.utime(folder / "cat/chelsea.jpg", ns=(1, 1))
    source = image_folder(folder, cache_dir=cache)
    assert source.num_examples == 8 and source.skipped == ()


def test_all_corrupt_is_an_error_even_when_skipping(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "a.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(CorruptImageError, match="No image is left"):
        image_folder(tmp_path, on_corrupt="skip", cache_dir=tmp_path / ".cache")


def test_unwritable_cache_dir_warns_and_still_works(folder, tmp_path):
    (folder / "cat/random.jpg").unlink()
    (folder / "coffee/truncated.jpg").unlink()
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    with pytest.warns(UserWarning, match="Could not save the validation manifest"):
        source = image_folder(folder, cache_dir=blocker / "cache")
    assert source.num_examples == 7


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist") as info:
        image_folder(tmp_path / "nope", cache_dir=tmp_path)
    assert f"{tmp_path / 'nope'}/<class name>/<image>" in str(info.value)


def test_folder_without_class_subfolders(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"")
    with pytest.raises(DatasetNotFoundError, match="has no class subfolders"):
        image_folder(tmp_path, cache_dir=tmp_path / ".cache")


def test_folder_without_images(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "notes.txt").write_text("x")
    with pytest.raises(DatasetNotFoundError, match="has no image files"):
        image_folder(tmp_path, cache_dir=tmp_path / ".cache")


def test_unknown_on_corrupt(tmp_path):
    with pytest.raises(ValueError, match=r"on_corrupt must be one of \('raise', 'skip'\), got 'x'"):
        image_folder(tmp_path, on_corrupt="x")
