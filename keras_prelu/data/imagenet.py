"""ImageNet 2012 (ILSVRC2012) through tensorflow-datasets, from the official tar files.

ImageNet cannot be downloaded automatically: after registering at
https://image-net.org/download-images, put ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar in
one directory (the "manual dir"). The first call converts them into TFRecords under the tfds
data directory (tfds also fixes the 22 CMYK JPEGs and the one PNG of the training set); later
calls read those. The images stay JPEG-encoded: decoding happens, fused with cropping, in the
pipeline (`keras_prelu.data.augment`).
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from keras_prelu.data.errors import DatasetNotFoundError

# The official archive each split is built from.
SPLIT_TARS = {
    "train": "ILSVRC2012_img_train.tar",
    "validation": "ILSVRC2012_img_val.tar",
    "test": "ILSVRC2012_img_test.tar",
}
# Encoded examples held for shuffling after the file-level shuffle (~1 GB of ImageNet JPEGs).
SHUFFLE_BUFFER = 10_000


@dataclass(frozen=True, eq=False)
class TfdsImageSource:
    """A split of a prepared tensorflow-datasets image dataset; an `ImageSource`.

    Attributes:
        builder: The prepared `tfds` builder.
        split: The split name (tfds slicing syntax allowed, e.g. "train[:10%]").
        class_names: Label i is `class_names[i]` (WordNet ids for ImageNet).
        num_examples: Number of images in the split.
    """

    builder: Any
    split: str
    class_names: tuple[str, ...]
    num_examples: int

    def records(self, input_context=None, shuffle=False, seed=None, epoch=0) -> tf.data.Dataset:
        """One epoch of (position, encoded JPEG, int64 label); see `ImageSource`.

        TFRecords allow no random access, so the order is tfds's: files sharded among input
        pipelines, their order and a 10,000-example shuffle buffer seeded by (seed, epoch).
        That is deterministic per epoch, but unlike an image folder each worker reads its
        own files, and positions number this pipeline's examples.
        """
        import tensorflow_datasets as tfds

        epoch_seed = None if seed is None else int(
            np.random.SeedSequence([seed, epoch]).generate_state(1, np.uint32)[0] >> 1)
        ds = self.builder.as_dataset(
            split=self.split,
            shuffle_files=shuffle,
            as_supervised=True,
            decoders={"image": tfds.decode.SkipDecoding()},
            read_config=tfds.ReadConfig(input_context=input_context, shuffle_seed=epoch_seed),
        )
        if shuffle:
            ds = ds.shuffle(SHUFFLE_BUFFER, seed=epoch_seed, reshuffle_each_iteration=False)
        pipelines, pipeline = (1, 0) if input_context is None else (
            input_context.num_input_pipelines, input_context.input_pipeline_id)
        return ds.enumerate().map(
            lambda i, example: (i * pipelines + pipeline, example[0], example[1]))

    def load(self, key: tf.Tensor) -> tf.Tensor:
        """The key is already the encoded JPEG; see `ImageSource`."""
        return key


def imagenet2012(
    split: str = "train",
    *,
    data_dir: str | os.PathLike | None = None,
    manual_dir: str | os.PathLike | None = None,
) -> TfdsImageSource:
    """ImageNet 2012 as encoded JPEGs and labels, preparing it from the tars on first use.

    Args:
        split: "train" (1,281,167 images), "validation" (50,000) or "test" (100,000, label -1);
            tfds slicing syntax is allowed.
        data_dir: tfds data directory (default ~/tensorflow_datasets).
        manual_dir: Directory holding the official tars; needed only until prepared.

    Returns:
        A `TfdsImageSource`.

    Raises:
        ValueError: Unknown split.
        DatasetNotFoundError: Not prepared and `manual_dir` lacks the tar of `split`, or the
            prepared copy lacks `split`.
    """
    import tensorflow_datasets as tfds

    base = split.split("[")[0]
    if base not in SPLIT_TARS:
        raise ValueError(f"imagenet2012 has no split {split!r}; choose from {tuple(SPLIT_TARS)}")
    builder = tfds.builder("imagenet2012", data_dir=data_dir)
    tar = SPLIT_TARS[base]
    if not builder.is_prepared():
        if manual_dir is None or not (Path(manual_dir) / tar).is_file():
            where = "no manual_dir was given" if manual_dir is None else f"{manual_dir} lacks {tar}"
            raise DatasetNotFoundError(
                f"ImageNet 2012 is not prepared in {builder.data_dir} and {where}. Register at "
                "https://image-net.org/download-images, download ILSVRC2012_img_train.tar and "
                "ILSVRC2012_img_val.tar into one directory and pass it as manual_dir=; the "
                "first call converts them (about 150 GB more) into the tfds data_dir. "
                "Alternatively extract them into class subfolders and use image_folder()."
            )
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=os.fspath(manual_dir))
        )
    if base not in builder.info.splits:
        raise DatasetNotFoundError(
            f"ImageNet 2012 in {builder.data_dir} was prepared without the {base!r} split (its "
            f"tar {tar} was not in the manual_dir then). Delete {builder.data_dir} and call "
            f"again with all the tars in manual_dir."
        )
    return TfdsImageSource(
        builder=builder,
        split=split,
        class_names=tuple(builder.info.features["label"].names),
        num_examples=builder.info.splits[split].num_examples,
    )
