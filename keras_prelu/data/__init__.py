"""Real datasets and the paper's input pipeline (Sec. 3, "Training" and "Testing").

Arrays: `load_fashion_mnist` (default for local runs), `load_digits` (tiny, for tests), fed to
`make_array_dataset`. Encoded images: `image_folder` (class-per-subfolder) and `imagenet2012`
(tensorflow-datasets, official tars), fed to `make_image_dataset`.
Detection: PASCAL VOC (`parse_annotation`, `voc_devkit`, `voc_tfds`) and a semi-synthetic set in
its layout (`make_semi_synthetic_voc`).
"""

from keras_prelu.data.augment import (
    IMAGENET_EIGVAL,
    IMAGENET_EIGVEC,
    IMAGENET_RGB_MEAN,
    center_crop,
    center_crop_window,
    decode_crop_resize,
    decode_rgb,
    pad_crop_flip,
    paper_train_augment,
    pca_color_shift,
    random_crop_window,
    resize_shorter,
    subtract_mean,
)
from keras_prelu.data.digits import load_digits
from keras_prelu.data.errors import CorruptImageError, DataFormatError, DatasetNotFoundError
from keras_prelu.data.fashion_mnist import load_fashion_mnist
from keras_prelu.data.idx import read_idx
from keras_prelu.data.image_folder import ImageFolder, image_folder
from keras_prelu.data.imagenet import TfdsImageSource, imagenet2012
from keras_prelu.data.pipeline import make_array_dataset, make_image_dataset, mean_image
from keras_prelu.data.source import ImageSource
from keras_prelu.data.voc import (
    VOC_CLASSES,
    VOCRecord,
    parse_annotation,
    tfds_boxes_to_voc,
    voc_devkit,
    voc_tfds,
)
from keras_prelu.data.voc_synthetic import SEMI_SYNTHETIC_CLASSES, make_semi_synthetic_voc

__all__ = [
    "IMAGENET_EIGVAL",
    "IMAGENET_EIGVEC",
    "IMAGENET_RGB_MEAN",
    "SEMI_SYNTHETIC_CLASSES",
    "VOC_CLASSES",
    "CorruptImageError",
    "DataFormatError",
    "DatasetNotFoundError",
    "ImageFolder",
    "ImageSource",
    "TfdsImageSource",
    "VOCRecord",
    "center_crop",
    "center_crop_window",
    "decode_crop_resize",
    "decode_rgb",
    "image_folder",
    "imagenet2012",
    "load_digits",
    "load_fashion_mnist",
    "make_array_dataset",
    "make_image_dataset",
    "make_semi_synthetic_voc",
    "mean_image",
    "pad_crop_flip",
    "parse_annotation",
    "paper_train_augment",
    "pca_color_shift",
    "random_crop_window",
    "read_idx",
    "resize_shorter",
    "subtract_mean",
    "tfds_boxes_to_voc",
    "voc_devkit",
    "voc_tfds",
]
