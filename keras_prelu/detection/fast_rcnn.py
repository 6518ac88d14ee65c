"""Fast R-CNN (Girshick, ICCV 2015) on a zoo classifier: the detector of the paper's Table 8.

The paper fine-tunes its ImageNet-trained models as Fast R-CNN detectors (Sec. 4). Fast
R-CNN keeps the classifier's conv layers and its fc layers, and puts RoI pooling where
the classifier pooled its last conv map: each proposal of an image is pooled on that
image's map into the grid fc1 was trained on. For the paper's SPP nets that grid is the
whole pyramid ({7, 3, 2, 1} for models A, B, C; {6, 3, 2, 1} for the plain nets), for VGG-16
a single 7x7 level. Two new layers follow fc2: a (K + 1)-way softmax (background and K
classes) and K + 1 class-specific box regressors.

  * `RoIPyramidPooling`: `RoIPooling` at every level of a pyramid, laid out exactly as
    `SpatialPyramidPooling` lays out its output (level by level, channel-major), so the
    classifier's fc1 applies unchanged: a roi covering a whole map pools to what the
    classifier's pyramid gives on that map.
  * `FastRCNN`: the task model (keras-hub's pattern: a registered `keras.Model` subclass
    that saves to `.keras` and reloads with `safe_mode=True`, whose `compute_loss` is the
    task's loss: Fast R-CNN's multi-task loss).
  * `fast_rcnn(classifier, num_classes)`: the detector of a zoo classifier, sharing its
    trunk and fc layers (and so its trained weights), with the first conv stage frozen.
"""

import keras
import tensorflow as tf
from keras import ops

from keras_prelu import zoo
from keras_prelu.layers import RoIPooling
from keras_prelu.layers._common import checked
from keras_prelu.layers.roi_pooling import (
    UNKNOWN_SIZE_LEVELS,
    doubling_maxima,
    level_of,
    roi_bins,
    round_half_away,
)
from keras_prelu.weight_decay import KernelDecay

# Fast R-CNN's initialisation of its new layers (models/VGG16/train.prototxt): cls_score
# drawn with std 0.01, bbox_pred with std 0.001, biases 0.
CLS_SCORE_STD = 0.01
BBOX_PRED_STD = 0.001


@keras.saving.register_keras_serializable(package="keras_prelu")
class RoIPyramidPooling(keras.layers.Layer):
    """RoI max pooling at each level of a spatial pyramid, in `SpatialPyramidPooling`'s layout.

    Level n is `RoIPooling(n, spatial_scale)` exactly: Fast R-CNN's roi corners, bins and
    maxima (`keras_prelu.layers.roi_pooling.roi_bins`), 0 for an empty bin. The levels are
    concatenated in the given order, each flattened channel-major (all n * n bins of
    channel 0, then channel 1, ...): `SpatialPyramidPooling`'s layout, so fc weights
    trained on the pyramid apply to every roi.

    One table of window maxima serves every level (`RoIPooling`'s sparse table: maxima
    over 2**k x 2**l windows, four reads per bin). Pooling the levels with separate
    `RoIPooling` layers builds and differentiates one table per level: on the demo
    network's stride-2 maps that was most of a detector's training step and of the time
    to trace it (bench/detection.py).

    Args:
        levels: bins per side of each level, e.g. `(7, 3, 2, 1)`; `(7,)` is Fast R-CNN's.
        spatial_scale: feature-map cells per input pixel: 1 / the trunk's stride.
        **kwargs: base layer arguments.

    Input shape:
        `[features, rois]`: features `(batch, height, width, channels)` (channels last);
        rois `(R, 5)` rows `(batch_index, x1, y1, x2, y2)` in input pixels, checked as
        `RoIPooling.check_rois` does (not under XLA: check them in the input pipeline).

    Output shape:
        `(R, channels * sum(n * n for n in levels))`.

    Example:

    >>> features = keras.Input((None, None, 64), batch_size=1)
    >>> rois = keras.Input((5,), batch_size=None)
    >>> RoIPyramidPooling((6, 3, 2, 1), 1 / 2)([features, rois]).shape  # 50 bins x 64
    (None, 3200)
    """

    def __init__(self, levels=(7,), spatial_scale=1.0 / 16, **kwargs):
        super().__init__(**kwargs)
        levels = tuple(levels)
        if not levels or any(int(n) != n or n < 1 for n in levels):
            raise ValueError(f"RoIPyramidPooling: levels must be positive integers, got {levels}.")
        if not spatial_scale > 0:
            raise ValueError(
                f"RoIPyramidPooling: spatial_scale must be positive, got {spatial_scale}.")
        self.levels = tuple(int(n) for n in levels)
        self.spatial_scale = float(spatial_scale)
        self.autocast = False  # rois stay float32; the features take the compute dtype

    def call(self, inputs):
        features, rois = inputs
        features = ops.cast(features, self.compute_dtype)
        batch, height, width, channels = ops.shape(features)
        rois = RoIPooling.check_rois(ops.stop_gradient(ops.cast(rois, "float32")), batch)
        corners = ops.cast(round_half_away(rois[:, 1:] * self.spatial_scale), "int32")
        h_levels, w_levels = (size.bit_length() if isinstance(size, int) else UNKNOWN_SIZE_LEVELS
                              for size in (height, width))
        # RoIPooling's table (h_levels * w_levels * batch * height * width rows of
        # channels, then a row of zeros for the empty bins), built by doubling all
        # column levels at once along the rows: 2 * levels ops instead of levels**2.
        columns = ops.stack(doubling_maxima(features, 2, w_levels))  # (w_levels, B, H, W, C)
        table = ops.concatenate(
            [ops.reshape(ops.stack(doubling_maxima(columns, 2, h_levels)), (-1, channels)),
             ops.zeros((1, channels), features.dtype)],
            axis=0,
        )
        zero_row = h_levels * w_levels * batch * height * width
        image = ops.reshape(ops.cast(rois[:, 0], "int32"), (-1, 1, 1))
        pooled = []
        for n in self.levels:
            h_lo, h_hi = roi_bins(corners[:, 1], corners[:, 3], height, n)
            w_lo, w_hi = roi_bins(corners[:, 0], corners[:, 2], width, n)
            for size, levels, lo, hi in ((height, h_levels, h_lo, h_hi),
                                         (width, w_levels, w_lo, w_hi)):
                if not isinstance(size, int):
                    rois = checked(
                        rois, ops.all(hi - lo <= 2**levels),
                        f"RoIPyramidPooling: a bin exceeds {2**levels} feature-map cells, the "
                        "most covered on maps whose size is unknown when the model is built; "
                        "use smaller images.")
            # The max of a bin is the max of four windows of 2**k x 2**l cells at its
            # corners (RoIPooling's reads).
            empty = ops.expand_dims(h_hi <= h_lo, 2) | ops.expand_dims(w_hi <= w_lo, 1)
            h_level = level_of(ops.maximum(h_hi - h_lo, 1), h_levels)
            w_level = level_of(ops.maximum(w_hi - w_lo, 1), w_levels)
            rows = [ops.minimum(h_lo, height - 1), ops.maximum(h_hi - 2**h_level, 0)]
            cols = [ops.minimum(w_lo, width - 1), ops.maximum(w_hi - 2**w_level, 0)]
            level = ops.expand_dims(h_level * w_levels, 2) + ops.expand_dims(w_level, 1)
            base = (level * batch + image) * height
            bins = None
            for row in rows:
                for col in cols:
                    index = (base + ops.expand_dims(row, 2)) * width + ops.expand_dims(col, 1)
                    corner = ops.take(table, ops.where(empty, zero_row, index), axis=0)
                    bins = corner if bins is None else ops.maximum(bins, corner)
            bins = ops.transpose(bins, (0, 3, 1, 2))  # (R, C, n, n): channel-major
            pooled.append(ops.reshape(bins, (-1, channels * n * n)))
        return ops.concatenate(pooled, axis=-1)

    def compute_output_shape(self, input_shape):
        features_shape, rois_shape = input_shape
        return (rois_shape[0], features_shape[-1] * sum(n * n for n in self.levels))

    def get_config(self):
        return {**super().get_config(), "levels": self.levels,
                "spatial_scale": self.spatial_scale}


def smooth_l1(x):
    """Fast R-CNN's smooth L1 (Eqn 3) with sigma 1: 0.5 x^2 where |x| < 1, else |x| - 0.5."""
    magnitude = ops.abs(x)
    return ops.where(magnitude < 1, 0.5 * x * x, magnitude - 0.5)


@keras.saving.register_keras_serializable(package="keras_prelu")
class FastRCNN(keras.Model):
    """A Fast R-CNN detector: a conv trunk, RoI pyramid pooling, fc layers, two outputs.

    Each image of a batch goes through the trunk at its own size (a batch is padded to
    a common canvas; the padding never reaches the trunk), and each of its rois is
    pooled on its map. The pooled rois of all images then go through the fc layers at
    once, into the class probabilities and the class-specific box deltas.

    `compute_loss` is Fast R-CNN's multi-task loss (Eqn 1, lambda = 1): the log loss of
    the true class plus, for foreground rois, the smooth L1 loss (sigma 1) of the true
    class's 4 deltas against the normalised targets (`encode_boxes`), both summed over
    the rois and divided by the number of rois in the batch (Fast R-CNN's 128: 2 images
    x 64). Rows labelled -1 pad an image with fewer rois and count for nothing.

    Args:
        trunk: a `keras.Model` mapping images `(1, None, None, channels)` to the last conv
            map (`zoo.split(classifier).trunk`).
        features: a `keras.Model` mapping the pooled vector of a roi to its fc2 output
            (the classifier's fc1 ... fc2_dropout).
        num_classes: object classes K (the softmax has K + 1, class 0 the background).
        levels: the pyramid levels of the RoI pooling (the classifier's SPP levels).
        spatial_scale: 1 / the trunk's stride.
        pixel_mean: per-channel mean subtracted from the images inside the model.
        image_scale: (shorter side, cap of the longer side) of the images it detects on
            (Fast R-CNN's single scale: 600, 1000), used by `detect`.
        weight_decay: `KernelDecay` rate of the two new layers' kernels (0: none).
        **kwargs: `keras.Model` arguments (e.g. `name`).

    Inputs (a dict):
        "images": `(B, H, W, channels)` float pixels (not mean-subtracted), each image
            in the top-left corner of a canvas shared by the batch.
        "image_shape": `(B, 2)` int32 height and width of each image.
        "rois": `(B, R, 4)` float32 rois (x1, y1, x2, y2) of each image, in its pixels.

    Outputs (a dict):
        "scores": `(B, R, K + 1)` softmax probabilities.
        "deltas": `(B, R, 4 * (K + 1))` normalised box deltas, (dx, dy, dw, dh) per class.

    Example:

    >>> detector = fast_rcnn(keras_prelu.zoo.get("model_a"), num_classes=20)
    >>> detector.compile(keras.optimizers.SGD(1e-3, momentum=0.9))
    >>> detector.fit(dataset)  # ({images, image_shape, rois}, {labels, targets}) batches
    """

    def __init__(self, trunk, features, num_classes, *, levels=(7,), spatial_scale=1.0 / 16,
                 pixel_mean=(0.0,), image_scale=(600, 1000), weight_decay=0.0, **kwargs):
        super().__init__(**kwargs)
        channels = trunk.inputs[0].shape[-1]
        if len(pixel_mean) != channels:
            raise ValueError(f"FastRCNN: pixel_mean needs {channels} values (the trunk's input "
                             f"channels), got {list(pixel_mean)}.")
        self.trunk = trunk
        self.features = features
        self.num_classes = int(num_classes)
        self.pixel_mean = tuple(float(m) for m in pixel_mean)
        self.image_scale = tuple(int(side) for side in image_scale)
        self.weight_decay = float(weight_decay)
        self.roi_pooling = RoIPyramidPooling(levels, spatial_scale, name="roi_pooling")
        decay = KernelDecay(self.weight_decay) if self.weight_decay else None
        # The classifier computes in float32 even under mixed precision, as the zoo's fc3.
        self.cls_score = keras.layers.Dense(
            self.num_classes + 1, activation="softmax", name="cls_score", dtype="float32",
            kernel_initializer=keras.initializers.RandomNormal(stddev=CLS_SCORE_STD),
            kernel_regularizer=decay)
        self.bbox_pred = keras.layers.Dense(
            4 * (self.num_classes + 1), name="bbox_pred", dtype="float32",
            kernel_initializer=keras.initializers.RandomNormal(stddev=BBOX_PRED_STD),
            kernel_regularizer=decay)
        width = features.outputs[0].shape[-1]
        self.cls_score.build((None, width))
        self.bbox_pred.build((None, width))
        self.log_loss_tracker = keras.metrics.Mean(name="log_loss")
        self.box_loss_tracker = keras.metrics.Mean(name="box_loss")
        # Every layer is built: `fit` has no symbolic build to run (under tf.distribute it
        # would average the replicas' first batches, images of different sizes).
        self.roi_pooling.build([trunk.outputs[0].shape, (None, 5)])
        self.built = True

    @property
    def levels(self):
        return self.roi_pooling.levels

    @property
    def spatial_scale(self):
        return self.roi_pooling.spatial_scale

    def call(self, inputs, training=False):
        images, shapes, rois = inputs["images"], inputs["image_shape"], inputs["rois"]
        batch, count = images.shape[0], ops.shape(rois)[1]
        if batch is None:
            raise ValueError("FastRCNN needs a static batch size (images per step); batch "
                             "the input with drop_remainder=True.")
        mean = ops.convert_to_tensor(self.pixel_mean, images.dtype)
        pooled = []
        for i in range(batch):
            # The image alone, at its own size: no padding reaches the trunk.
            image = ops.slice(images, (i, 0, 0, 0),
                              (1, shapes[i, 0], shapes[i, 1], images.shape[-1]))
            conv = self.trunk(image - mean, training=training)
            boxes = ops.cast(rois[i], "float32")
            rows = ops.concatenate([ops.zeros((count, 1), "float32"), boxes], axis=1)
            pooled.append(self.roi_pooling([conv, rows]))
        x = self.features(ops.concatenate(pooled, axis=0), training=training)
        scores = ops.reshape(self.cls_score(x), (batch, count, self.num_classes + 1))
        deltas = ops.reshape(self.bbox_pred(x), (batch, count, 4 * (self.num_classes + 1)))
        return {"scores": scores, "deltas": deltas}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Fast R-CNN's multi-task loss of a batch, plus the kernels' weight decay.

        Args:
            x: the inputs (unused).
            y: {"labels": `(B, R)` int class of each roi (0 background, -1 padding),
                "targets": `(B, R, 4)` normalised regression targets (`encode_boxes`)
                toward its ground-truth box (read for foreground rois only)}.
            y_pred: the model's outputs.
            sample_weight: unused (must be None).
            training: unused.

        Returns:
            The scalar loss of this replica's share of the batch.
        """
        del x, training
        if sample_weight is not None:
            raise ValueError("FastRCNN weighs every roi alike; give no sample_weight.")
        labels = ops.cast(y["labels"], "int32")
        valid = ops.cast(labels >= 0, "float32")
        classes = ops.maximum(labels, 0)
        log_loss = keras.losses.sparse_categorical_crossentropy(classes, y_pred["scores"])
        deltas = ops.reshape(y_pred["deltas"], (*ops.shape(labels), self.num_classes + 1, 4))
        true_deltas = ops.take_along_axis(deltas, classes[..., None, None], axis=2)[..., 0, :]
        foreground = ops.cast(labels > 0, "float32")
        box_loss = ops.sum(smooth_l1(true_deltas - ops.cast(y["targets"], "float32")),
                           axis=-1) * foreground
        rois = ops.cast(ops.size(labels), "float32")
        log_loss = ops.sum(log_loss * valid) / rois
        box_loss = ops.sum(box_loss) / rois
        self.log_loss_tracker.update_state(log_loss)
        self.box_loss_tracker.update_state(box_loss)
        # Each replica averages over its own rois; the replicas' gradients are summed.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        loss = (log_loss + box_loss) / replicas
        return loss + sum(self._aggregate_additional_loss(extra) for extra in self.losses)

    def get_config(self):
        return {
            **super().get_config(),
            "trunk": keras.saving.serialize_keras_object(self.trunk),
            "features": keras.saving.serialize_keras_object(self.features),
            "num_classes": self.num_classes,
            "levels": self.levels,
            "spatial_scale": self.spatial_scale,
            "pixel_mean": self.pixel_mean,
            "image_scale": self.image_scale,
            "weight_decay": self.weight_decay,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("trunk", "features"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)


def trunk_stride(trunk):
    """Input pixels per cell of the trunk's output map: the product of its strides."""
    stride = 1
    for layer in trunk.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D)):
            stride *= layer.strides[0]
    return stride


def first_stage(layer):
    """Whether a zoo layer belongs to the first conv stage: conv1 (or conv1_1, conv1_2, ...)
    and its rectifier (conv1_act, ...)."""
    return layer.name == "conv1" or layer.name.startswith("conv1_")


def fast_rcnn(classifier, num_classes, *, pixel_mean=None, image_scale=(600, 1000),
              weight_decay=0.0):
    """The Fast R-CNN detector of a zoo classifier, sharing its layers and weights.

    The trunk is the classifier's conv layers; the RoI pooling takes its pyramid levels
    and its stride; fc1 and fc2 (with their rectifiers and dropout) are the classifier's;
    its fc3 is replaced by the detector's two outputs. The first conv stage is frozen
    (Fast R-CNN fine-tunes from conv3_1 of VGG-16: early layers are generic, and leaving
    them fixed saves time).

    Args:
        classifier: a zoo model with its SPP head (`include_top=True`), e.g.
            `zoo.get("plain9", weights="runs/.../model.keras", ...)`.
        num_classes: object classes K.
        pixel_mean: per-channel mean the detector subtracts from its images; default 0
            for every channel.
        image_scale: (shorter side, cap of the longer side) of the images it detects on.
        weight_decay: `KernelDecay` rate of the new layers (the zoo's own layers keep
            their regularisers).

    Returns:
        A `FastRCNN`.

    Raises:
        ValueError: if the classifier is not a zoo model with a pyramid (`zoo.split`).

    Example:

    >>> classifier = keras_prelu.zoo.get("model_a", activation="relu")
    >>> detector = fast_rcnn(classifier, num_classes=20, pixel_mean=(122.8, 115.9, 103.0))
    """
    trunk, spp, head = zoo.split(classifier)
    for layer in trunk.layers:
        if first_stage(layer):
            layer.trainable = False
    pooled = keras.Input(head.inputs[0].shape[1:])
    x = pooled
    for layer in head.layers[1:-1]:  # fc1 ... fc2_dropout, without fc3
        x = layer(x)
    features = keras.Model(pooled, x, name=f"{classifier.name}_fc")
    channels = trunk.inputs[0].shape[-1]
    return FastRCNN(
        trunk, features, num_classes, levels=spp.levels,
        spatial_scale=1.0 / trunk_stride(trunk),
        pixel_mean=(0.0,) * channels if pixel_mean is None else pixel_mean,
        image_scale=image_scale, weight_decay=weight_decay, name=f"fast_rcnn_{classifier.name}")
