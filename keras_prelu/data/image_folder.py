"""Any class-per-subfolder image folder (`root/<class name>/<image>`), e.g. an extracted ImageNet.

Corrupt files are found once, when the folder is indexed, not mid-epoch: tf.data decode errors
do not carry the file name, so `image_folder` runs a validation scan that fully decodes every
image with the same TensorFlow decoders as training, in parallel (`tf.data` map over the paths,
AUTOTUNE, `ignore_errors()`: the paths missing from the output are the corrupt ones; only those
few are decoded again, eagerly, to get the reason). Full decoding is needed because a truncated
JPEG still decodes a crop of its first rows. The result is cached in a manifest (JSON, one entry
per file keyed by relative path, size and mtime), so later calls only list and stat the files
(~13 us per file on a local disk: ~15 s for ImageNet) and decode the new or changed ones. The
first scan of ImageNet's 1.28M training images costs about one epoch of JPEG decoding (~1.5 ms
of CPU per image: half an hour on 2 cores, minutes on 16+).
"""

import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_prelu.data.augment import decode_rgb
from keras_prelu.data.errors import CorruptImageError, DatasetNotFoundError
from keras_prelu.data.order import epoch_order

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp")
ON_CORRUPT = ("raise", "skip")
_MANIFEST_VERSION = 1
_REPORTED = 20  # corrupt files listed in a message; the manifest lists them all


@dataclass(frozen=True, eq=False)
class ImageFolder:
    """The valid images of a class-per-subfolder folder; an `ImageSource`.

    Attributes:
        directory: The absolute root folder.
        class_names: Sorted subfolder names; label i is `class_names[i]`.
        paths: Absolute paths of the images, sorted.
        labels: int64 label of each path.
        skipped: Corrupt files left out (on_corrupt="skip").
        manifest: The cache file of the validation scan.
    """

    directory: Path
    class_names: tuple[str, ...]
    paths: np.ndarray
    labels: np.ndarray
    skipped: tuple[str, ...]
    manifest: Path

    @property
    def num_examples(self) -> int:
        return len(self.paths)

    def records(self, input_context=None, shuffle=False, seed=None, epoch=0) -> tf.data.Dataset:
        """One epoch of (position, path, int64 label); see `ImageSource`. Paths are small, so
        the whole list is permuted: a uniform shuffle, the same on every worker."""
        paths, labels = tf.constant(self.paths), tf.constant(self.labels)
        return epoch_order(
            self.num_examples, shuffle=shuffle, seed=seed, epoch=epoch,
            input_context=input_context,
        ).map(lambda position, index: (position, tf.gather(paths, index),
                                       tf.gather(labels, index)))

    def load(self, key: tf.Tensor) -> tf.Tensor:
        """The file's bytes; see `ImageSource`."""
        return tf.io.read_file(key)


def image_folder(
    directory: str | os.PathLike,
    *,
    on_corrupt: str = "raise",
    cache_dir: str | os.PathLike | None = None,
) -> ImageFolder:
    """Indexes and validates a class-per-subfolder image folder.

    Images are the files with an extension in `IMAGE_EXTENSIONS` (any case) anywhere below a
    class subfolder; hidden files and folders are ignored.

    Args:
        directory: Root folder, holding one subfolder per class.
        on_corrupt: What to do with files TensorFlow cannot decode: "raise" a
            `CorruptImageError`, or "skip" them with a warning. Either way each is named with
            its path and the decoder's reason.
        cache_dir: Where the validation manifest is kept; defaults to
            `$XDG_CACHE_HOME/keras_prelu/image_folders` (`~/.cache/...`).

    Returns:
        An `ImageFolder`.

    Raises:
        ValueError: Unknown `on_corrupt`.
        DatasetNotFoundError: The folder is missing or has no class subfolders or no images.
        CorruptImageError: Corrupt files were found and on_corrupt="raise", or every file is
            corrupt.
    """
    if on_corrupt not in ON_CORRUPT:
        raise ValueError(f"on_corrupt must be one of {ON_CORRUPT}, got {on_corrupt!r}")
    directory = Path(os.path.abspath(directory))
    layout = (
        f"Expected one subfolder per class, each holding that class's images: "
        f"{directory}/<class name>/<image>{{{','.join(IMAGE_EXTENSIONS)}}}."
    )
    if not directory.is_dir():
        raise DatasetNotFoundError(f"Image folder {directory} does not exist. {layout}")
    class_names = sorted(
        e.name for e in os.scandir(directory) if e.is_dir() and not e.name.startswith(".")
    )
    if not class_names:
        raise DatasetNotFoundError(f"Image folder {directory} has no class subfolders. {layout}")
    files = _list_images(directory, class_names)
    if not files:
        raise DatasetNotFoundError(f"Image folder {directory} has no image files. {layout}")

    manifest = _manifest_path(directory, cache_dir)
    cached = _read_manifest(manifest, directory)
    errors = {}  # relative path -> None if the image decodes, else the reason it does not
    unchecked = []
    for rel, _, size, mtime in files:
        entry = cached.get(rel)
        if entry is not None and entry[:2] == [size, mtime]:
            errors[rel] = entry[2]
        else:
            unchecked.append(rel)
    if unchecked:
        errors.update(_scan(directory, unchecked))
        try:
            _write_manifest(manifest, directory, files, errors)
        except OSError as e:
            warnings.warn(
                f"Could not save the validation manifest ({e}); the scan will be repeated next "
                "time. Pass cache_dir= a writable directory.",
                stacklevel=2,
            )

    corrupt = [rel for rel, *_ in files if errors[rel] is not None]
    if corrupt:
        listed = "\n".join(f"  {directory / rel}: {errors[rel]}" for rel in corrupt[:_REPORTED])
        more = f"\n  ... and {len(corrupt) - _REPORTED} more" if len(corrupt) > _REPORTED else ""
        report = (
            f"{len(corrupt)} of {len(files)} images in {directory} cannot be decoded:\n"
            f"{listed}{more}\n(all are listed in {manifest})"
        )
        if on_corrupt == "raise":
            raise CorruptImageError(
                f"{report}\nDelete or replace them, or pass on_corrupt='skip' to leave them out."
            )
        if len(corrupt) == len(files):
            raise CorruptImageError(f"{report}\nNo image is left; check that {directory} is right.")
        warnings.warn(f"{report}\nSkipping them (on_corrupt='skip').", stacklevel=2)
    valid = [(rel, label) for rel, label, *_ in files if errors[rel] is None]
    return ImageFolder(
        directory=directory,
        class_names=tuple(class_names),
        paths=np.array([str(directory / rel) for rel, _ in valid]),
        labels=np.array([label for _, label in valid], np.int64),
        skipped=tuple(str(directory / rel) for rel in corrupt),
        manifest=manifest,
    )


def _list_images(directory: Path, class_names: list[str]) -> list[tuple[str, int, int, int]]:
    """(relative path, label, size, mtime_ns) of every image, sorted."""
    files = []
    for label, name in enumerate(class_names):
        for root, dirs, names in os.walk(directory / name, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for file in sorted(names):
                if file.startswith(".") or not file.lower().endswith(IMAGE_EXTENSIONS):
                    continue
                path = os.path.join(root, file)
                stat = os.stat(path)
                files.append(
                    (os.path.relpath(path, directory), label, stat.st_size, stat.st_mtime_ns)
                )
    return files


def _scan(directory: Path, rels: list[str]) -> dict[str, str | None]:
    """Decodes every file in parallel; returns the reason each one fails, or None."""
    paths = [str(directory / rel) for rel in rels]
    ds = tf.data.Dataset.from_tensor_slices(paths)
    # The output is the path and the (tiny) shape, so a failing image just drops its path.
    ds = ds.map(
        lambda path: (path, tf.shape(decode_rgb(tf.io.read_file(path)))),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=False,
    )
    decoded = set()
    for batch, _ in ds.ignore_errors().batch(1024):
        decoded.update(p.decode() for p in batch.numpy())
    return {
        rel: None if path in decoded else _decode_error(path)
        for rel, path in zip(rels, paths, strict=True)
    }


def _decode_error(path: str) -> str | None:
    try:
        decode_rgb(tf.io.read_file(path))
    except tf.errors.OpError as e:
        # Drop TensorFlow's "{{function_node ...}}" prefix: the decoder's words are the reason.
        return re.sub(r"\{\{.*?\}\}\s*", "", e.message).strip()
    return None


def _manifest_path(directory: Path, cache_dir) -> Path:
    if cache_dir is None:
        cache_dir = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser()
        cache_dir = cache_dir / "keras_prelu" / "image_folders"
    key = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
    return Path(cache_dir) / f"{directory.name}-{key}.json"


def _read_manifest(manifest: Path, directory: Path) -> dict:
    # A cache: if it is missing, unreadable or from another folder, everything is rescanned.
    try:
        with open(manifest, encoding="utf-8") as f:
            data = json.load(f)
        if data["version"] == _MANIFEST_VERSION and data["directory"] == str(directory):
            return data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return {}


def _write_manifest(manifest: Path, directory: Path, files, errors) -> None:
    manifest.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "version": _MANIFEST_VERSION,
        "directory": str(directory),
        "files": {rel: [size, mtime, errors[rel]] for rel, _, size, mtime in files},
    }
    tmp = manifest.with_name(f"{manifest.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, manifest)  # atomic: concurrent readers see the old or the new manifest
