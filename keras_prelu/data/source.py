"""The interface shared by image datasets (an image folder, ImageNet via tensorflow-datasets)."""

from typing import Protocol

import tensorflow as tf


class ImageSource(Protocol):
    """Labelled encoded images (JPEG, PNG, GIF, BMP), the input of `make_image_dataset`.

    Attributes:
        class_names: Label i is `class_names[i]`.
        num_examples: Number of images (before sharding).
    """

    class_names: tuple[str, ...]
    num_examples: int

    def records(
        self,
        input_context: tf.distribute.InputContext | None = None,
        shuffle: bool = False,
        seed: int | None = None,
        epoch: int = 0,
    ) -> tf.data.Dataset:
        """One epoch of (int64 position, key, int64 label) of one input pipeline.

        `load(key)` gives the image; `position` is the example's place in the epoch's
        order, which fixes its augmentation (`keras_prelu.data.order`).

        Args:
            input_context: If given, only this input pipeline's share.
            shuffle: Order the epoch by a permutation seeded by (seed, epoch).
            seed: The run's seed.
            epoch: Which epoch.
        """
        ...

    def load(self, key: tf.Tensor) -> tf.Tensor:
        """The encoded image (a scalar string tensor) of a record's key: a path or the bytes.

        Called inside the pipeline's per-image map, so that reading, decoding and augmenting
        are one tf.data stage.
        """
        ...
