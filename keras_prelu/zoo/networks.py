"""The paper's networks as Keras functional-API builders (Tables 1 and 3, Sec. 2.2).

Every builder returns a `keras.Model` that is a plain chain of layers named as in the
paper: convs `conv1`, `conv2_1`, ... (stage_index), pools `pool1`, ..., the pyramid `spp`,
then `fc1 -> fc1_act -> fc1_dropout -> fc2 -> fc2_act -> fc2_dropout -> fc3`; each
rectifier is a layer named after the layer it follows (`conv2_1_act`, `fc1_act`).
Images are channels-last whatever `keras.config.image_data_format()` says.

Common keyword arguments of every builder (the defaults are the paper's):

- `include_top=True`: the SPP head and the three fc layers. `False` ends at the last
  conv's rectifier (the convolutional trunk), optionally pooled by `pooling`.
- `input_shape=None`: `(height, width, channels)`; default `(None, None, 3)`: the SPP
  head takes any size at least the minimum (`channels=1` for grayscale).
- `input_tensor=None`: a Keras tensor to use as the input instead (not with
  `input_shape`).
- `classes=1000`, `classifier_activation="softmax"`: fc3's units and activation
  (`None` for logits).
- `pooling=None | "avg" | "max"`: global pooling of the trunk when `include_top=False`.
- `activation="relu" | "prelu" | "prelu_shared" | "lrelu"`: the rectifier after every
  conv and after fc1, fc2 (Sec. 2.1; PReLU channel-wise or channel-shared, slopes
  starting at 0.25). `negative_slope` sets LReLU's fixed slope (default 0.25, Table 2).
- `kernel_initializer="he_fan_out" | "he_fan_in" | "xavier" | "gaussian"`: Eqn 14
  (what the paper trained with), Eqn 10, the "Xavier" std sqrt(1/n), or a fixed std
  `gaussian_std` (default 0.01, the VGG team's). He's std takes the rectifier's initial
  slope into account (Eqn 15: sqrt(2 / ((1 + a^2) n))). Biases start at 0.
- `small_fc_init=False`: `True` draws fc1, fc2 with std 0.01 and fc3 with std 0.001
  (Sec. 2.2, the paper's choice for un-normalised input in [-128, 128]).
- `dropout=0.5`: dropout rate after fc1 and fc2 (Sec. 3).
- `weight_decay=5e-4`: Caffe weight decay (`KernelDecay`) on conv and fc kernels only;
  never on PReLU slopes or biases (Sec. 2.1, Sec. 3). `0` for none.

Knobs for small inputs and CPU-scale runs (the defaults leave the paper's network):

- `width=1.0`: multiplies every conv layer's filter count.
- `stem="imagenet" | "small"`: the paper's first layers, or one 3x3 stride-1 conv with
  no pool (VGG-19: its two 3x3 convs without pool1), for 28-64 px inputs.
- `spp_levels=None`: the pyramid's levels; default the paper's.
- `fc_units=4096`: units of fc1 and fc2.
"""

from typing import NamedTuple

import keras

from keras_prelu import paper
from keras_prelu.initializers import HeNormal
from keras_prelu.layers import PReLU, SpatialPyramidPooling
from keras_prelu.weight_decay import KernelDecay
from keras_prelu.zoo.shapes import min_input_size

ACTIVATIONS = ("relu", "prelu", "prelu_shared", "lrelu")
INITIALIZERS = ("he_fan_out", "he_fan_in", "xavier", "gaussian")
STEMS = ("imagenet", "small")
POOLINGS = (None, "avg", "max")
HEADS = ("spp", "flatten")

DATA_FORMAT = "channels_last"


class Conv(NamedTuple):
    name: str
    filters: int
    kernel: int
    stride: int
    padding: str  # "valid", "same" or TOP_LEFT


# Keras's "same" pads an even kernel's extra row and column at the bottom and right, so a
# stack of 2x2 convs shifts the map by a pixel per layer and, on small maps, pushes the
# signal out of it (30-layer net at 80 px: the response std falls ~1000x over stage 3
# at He init). Within a stage, every second 2x2 conv pads at the top and left instead:
# no net shift, the same map size.
TOP_LEFT = "top_left"


class Pool(NamedTuple):
    name: str
    size: int  # also the stride


class Architecture(NamedTuple):
    """A trunk: the stem for each `stem` choice, then the body; and the SPP levels."""

    stems: dict
    body: list
    spp_levels: tuple


def _stage(index, filters, count, kernel):
    def padding(i):  # even kernels alternate the padded side (see TOP_LEFT)
        return TOP_LEFT if kernel % 2 == 0 and i % 2 == 0 else "same"

    return [Conv(f"conv{index}_{i}", filters, kernel, 1, padding(i)) for i in range(1, count + 1)]


def _plain_architecture(depth):
    # Table 1 (He & Sun's model E): conv1 7x7/2 and pool1 3x3/3 unpadded, giving the
    # 36x36 stage-2 and 18x18 stage-3 maps of that paper at 224 px; the 2x2 convs keep
    # the size (see TOP_LEFT).
    return Architecture(
        stems={
            "imagenet": [Conv("conv1", 64, 7, 2, "valid"), Pool("pool1", 3)],
            "small": [Conv("conv1", 64, 3, 1, "same")],
        },
        body=[*_stage(2, 128, 4, 2), Pool("pool2", 2), *_stage(3, 256, depth - 8, 2)],
        spp_levels=(6, 3, 2, 1),
    )


def _table3_architecture(convs_per_stage, filters):
    # Table 3: 224 -> conv1 7x7/2 (padded) -> 112 -> pool -> stages at 56, 28 and 14.
    body = []
    for index, stage_filters in enumerate(filters, start=2):
        if index > 2:
            body.append(Pool(f"pool{index - 1}", 2))
        body += _stage(index, stage_filters, convs_per_stage, 3)
    return Architecture(
        stems={
            "imagenet": [Conv("conv1", 96, 7, 2, "same"), Pool("pool1", 2)],
            "small": [Conv("conv1", 96, 3, 1, "same")],
        },
        body=body,
        spp_levels=(7, 3, 2, 1),
    )


def _vgg19_architecture():
    # VGG-19 (Simonyan & Zisserman, configuration E), Table 3's first column.
    body = [*_stage(2, 128, 2, 3)]
    for index, filters in ((3, 256), (4, 512), (5, 512)):
        body += [Pool(f"pool{index - 1}", 2), *_stage(index, filters, 4, 3)]
    return Architecture(
        stems={"imagenet": [*_stage(1, 64, 2, 3), Pool("pool1", 2)], "small": _stage(1, 64, 2, 3)},
        body=body,
        spp_levels=(7, 3, 2, 1),
    )


def _check_choice(argument, value, allowed):
    if value not in allowed:
        raise ValueError(f"Unknown {argument} {value!r}; use one of {allowed}.")


def _initial_slope(activation, negative_slope):
    """The rectifier's slope for x < 0 at initialisation (the `a` of Eqn 15)."""
    if negative_slope is not None and activation != "lrelu":
        raise ValueError(
            f"negative_slope is LReLU's fixed slope; it needs activation='lrelu', "
            f"not {activation!r}."
        )
    if activation == "lrelu":
        return paper.LRELU_SLOPE if negative_slope is None else negative_slope
    return 0.0 if activation == "relu" else paper.PRELU_INITIAL_SLOPE


def _rectifier(activation, slope, name):
    if activation == "relu":
        return keras.layers.ReLU(name=name)
    if activation == "lrelu":
        return keras.layers.LeakyReLU(negative_slope=slope, name=name)
    mode = "channel_shared" if activation == "prelu_shared" else "channel_wise"
    return PReLU(mode, paper.PRELU_INITIAL_SLOPE, data_format=DATA_FORMAT, name=name)


def _kernel_initializer(kind, slope, gaussian_std):
    """A new initializer (one per layer) for conv and fc kernels."""
    if kind == "he_fan_out":
        return HeNormal(slope, mode="fan_out")
    if kind == "he_fan_in":
        return HeNormal(slope, mode="fan_in")
    if kind == "xavier":
        return HeNormal(1.0, mode="fan_in")  # n Var[w] = 1: the linear case (Sec. 2.2).
    return keras.initializers.RandomNormal(stddev=gaussian_std)


def _input(input_shape, input_tensor, default_shape):
    """The input tensor and the model's source inputs, as keras.applications does."""
    if input_tensor is None:
        inputs = keras.Input(default_shape if input_shape is None else tuple(input_shape))
        return inputs, inputs
    if input_shape is not None:
        raise ValueError("Give input_shape or input_tensor, not both.")
    if not keras.backend.is_keras_tensor(input_tensor):
        raise ValueError(
            f"input_tensor must be a Keras tensor (keras.Input(...) or a layer's output), "
            f"got {type(input_tensor).__name__}."
        )
    return input_tensor, keras.utils.get_source_inputs(input_tensor)


def _build(
    name,
    architecture,
    head="spp",
    /,
    *,
    include_top=True,
    input_shape=None,
    input_tensor=None,
    classes=1000,
    classifier_activation="softmax",
    pooling=None,
    activation="relu",
    negative_slope=None,
    kernel_initializer="he_fan_out",
    gaussian_std=None,
    small_fc_init=False,
    dropout=paper.DROPOUT,
    weight_decay=paper.WEIGHT_DECAY,
    width=1.0,
    stem="imagenet",
    spp_levels=None,
    fc_units=4096,
):
    _check_choice("activation", activation, ACTIVATIONS)
    _check_choice("kernel_initializer", kernel_initializer, INITIALIZERS)
    _check_choice("stem", stem, STEMS)
    _check_choice("pooling", pooling, POOLINGS)
    _check_choice("head", head, HEADS)
    if gaussian_std is not None and kernel_initializer != "gaussian":
        raise ValueError(
            "gaussian_std is the fixed std of kernel_initializer='gaussian', "
            f"not of {kernel_initializer!r}."
        )
    if not width > 0:
        raise ValueError(f"width must be a positive multiplier, got {width}.")
    slope = _initial_slope(activation, negative_slope)
    gaussian_std = paper.GAUSSIAN_STD if gaussian_std is None else gaussian_std
    decay = KernelDecay(weight_decay) if weight_decay else None

    def initializer(layer_name):
        if small_fc_init and layer_name in paper.SMALL_FC_STDS:
            return keras.initializers.RandomNormal(stddev=paper.SMALL_FC_STDS[layer_name])
        return _kernel_initializer(kernel_initializer, slope, gaussian_std)

    def rectified(layer):
        return [layer, _rectifier(activation, slope, f"{layer.name}_act")]

    def fc(layer_name, units, output_activation=None, dtype=None):
        return keras.layers.Dense(
            units,
            activation=output_activation,
            kernel_initializer=initializer(layer_name),
            kernel_regularizer=decay,
            name=layer_name,
            dtype=dtype,
        )

    layers = []
    for spec in architecture.stems[stem] + architecture.body:
        if isinstance(spec, Pool):
            layers.append(
                keras.layers.MaxPooling2D(spec.size, data_format=DATA_FORMAT, name=spec.name)
            )
            continue
        if spec.padding == TOP_LEFT:
            pad = ((spec.kernel - 1, 0), (spec.kernel - 1, 0))
            layers.append(
                keras.layers.ZeroPadding2D(pad, data_format=DATA_FORMAT, name=f"{spec.name}_pad")
            )
        conv = keras.layers.Conv2D(
            max(1, round(spec.filters * width)),
            spec.kernel,
            strides=spec.stride,
            padding="valid" if spec.padding == TOP_LEFT else spec.padding,
            data_format=DATA_FORMAT,
            kernel_initializer=initializer(spec.name),
            kernel_regularizer=decay,
            name=spec.name,
        )
        layers += rectified(conv)
    levels = architecture.spp_levels if spp_levels is None else tuple(spp_levels)
    if include_top:
        if head == "spp":
            layers.append(SpatialPyramidPooling(levels, data_format=DATA_FORMAT, name="spp"))
        else:  # VGG-19's own head: pool5, then fc1 on the flattened 7x7 map.
            layers += [
                keras.layers.MaxPooling2D(2, data_format=DATA_FORMAT, name="pool5"),
                keras.layers.Flatten(data_format=DATA_FORMAT, name="flatten"),
            ]
        for fc_name in ("fc1", "fc2"):
            layers += rectified(fc(fc_name, fc_units))
            layers.append(keras.layers.Dropout(dropout, name=f"{fc_name}_dropout"))
        # The classifier computes in float32 even under mixed precision, so the softmax
        # and the loss do not lose precision (Keras's advice for mixed precision).
        layers.append(fc("fc3", classes, classifier_activation, dtype="float32"))
    elif pooling == "avg":
        layers.append(keras.layers.GlobalAveragePooling2D(DATA_FORMAT, name="avg_pool"))
    elif pooling == "max":
        layers.append(keras.layers.GlobalMaxPooling2D(DATA_FORMAT, name="max_pool"))

    fixed = include_top and head == "flatten"
    default_shape = (paper.CROP_SIZE, paper.CROP_SIZE, 3) if fixed else (None, None, 3)
    inputs, source_inputs = _input(input_shape, input_tensor, default_shape)
    rows, cols, channels = inputs.shape[1:]
    if include_top and head == "flatten" and None in (rows, cols):
        raise ValueError(
            f"{name}: head='flatten' needs a fixed input size, got shape {inputs.shape[1:]}."
        )
    known = [side for side in (rows, cols) if side is not None]
    if known:
        need = min_input_size(layers, channels)
        if min(known) < need:
            raise ValueError(
                f"{name}: a {rows}x{cols} input is too small; with stem={stem!r}"
                + (f", spp_levels={levels}" if include_top and head == "spp" else "")
                + f" it needs at least {need}x{need} pixels."
            )
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(source_inputs, x, name=name)


def small14(**kwargs):
    """The 14-layer model of Table 1 (model E of He & Sun, CVPR 2015; Sec. 2.1).

    conv1 7x7/2, 64; pool1 3x3/3; conv2_1-conv2_4 2x2, 128; pool2 2x2/2; conv3_1-conv3_6
    2x2, 256; spp {6, 3, 2, 1}; fc1, fc2 4096; fc3. The paper's PReLU experiments
    (Tables 1 and 2). The same network as `plain(14)`.

    Args:
        **kwargs: the common keyword arguments (module docstring).

    Returns:
        A `keras.Model` named "small14".

    Raises:
        ValueError: for an unknown choice or an input smaller than the minimum size.

    Example:

    >>> model = small14(activation="prelu")  # Table 2's best
    >>> tiny = small14(input_shape=(28, 28, 1), stem="small", width=0.25, fc_units=256,
    ...                classes=10)
    """
    return _build("small14", _plain_architecture(14), **kwargs)


def plain(depth, **kwargs):
    """A deep plain net of Sec. 2.2 (Figures 2-3): Table 1's model with more 2x2 convs.

    The 30-layer net (27 conv + 3 fc) adds sixteen 2x2, 256-filter convs to Table 1's
    stage 3 (conv3_7-conv3_22); other depths add or remove convs there.

    Args:
        depth: conv + fc layers, at least 9 (one conv in stage 3); 14 is Table 1's model,
            30 the net Xavier initialisation cannot train (Figure 3, right).
        **kwargs: the common keyword arguments (module docstring).

    Returns:
        A `keras.Model` named "plain<depth>".

    Raises:
        ValueError: for a depth below 9, an unknown choice or too small an input.

    Example:

    >>> model = plain(30, kernel_initializer="xavier")  # the net that stalls
    """
    if not isinstance(depth, int) or depth < 9:
        raise ValueError(f"plain: depth counts conv + fc layers and must be >= 9, got {depth!r}.")
    return _build(f"plain{depth}", _plain_architecture(depth), **kwargs)


def vgg19(head="spp", **kwargs):
    """VGG-19 (Simonyan & Zisserman), Table 3's first column, as the paper reproduced it.

    Two 3x3 convs at 224 (64 filters) and 112 (128), four at 56 (256), 28 and 14 (512),
    2x2 max pools between; the last pool replaced by spp {7, 3, 2, 1}; fc1, fc2 4096; fc3.

    Args:
        head: `"spp"` (default, the paper's reproduction) or `"flatten"`: VGG's own
            pool5 2x2/2 and a flattened 7x7 map into fc1; it needs a fixed input size
            (default 224 x 224).
        **kwargs: the common keyword arguments (module docstring).

    Returns:
        A `keras.Model` named "vgg19".

    Raises:
        ValueError: for an unknown choice or too small an input.

    Example:

    >>> model = vgg19()
    >>> original = vgg19(head="flatten")
    """
    return _build("vgg19", _vgg19_architecture(), head, **kwargs)


def model_a(**kwargs):
    """Table 3's model A, the paper's 19-layer baseline (Sec. 3).

    conv1 7x7/2, 96; 2x2 pool /2; five 3x3 convs at each of the 56, 28 and 14 stages
    (256, 512, 512 filters), 2x2 pools /2 between; spp {7, 3, 2, 1}; fc1, fc2 4096; fc3.

    Args:
        **kwargs: the common keyword arguments (module docstring).

    Returns:
        A `keras.Model` named "model_a".

    Raises:
        ValueError: for an unknown choice or too small an input.

    Example:

    >>> model = model_a(activation="prelu")  # Table 4's PReLU model
    """
    return _build("model_a", _table3_architecture(5, (256, 512, 512)), **kwargs)


def model_b(**kwargs):
    """Table 3's model B: model A with six 3x3 convs per stage (22 layers).

    Args:
        **kwargs: the common keyword arguments (module docstring).

    Returns:
        A `keras.Model` named "model_b".

    Raises:
        ValueError: for an unknown choice or too small an input.

    Example:

    >>> model = model_b(activation="prelu")
    """
    return _build("model_b", _table3_architecture(6, (256, 512, 512)), **kwargs)


def model_c(**kwargs):
    """Table 3's model C: model B wider, 384, 768 and 896 filters (the paper's best).

    Full size it has several hundred million parameters, most in fc1 (SPP's 63 bins x 896
    channels in, 4096 out); see its model card for the exact count.

    Args:
        **kwargs: the common keyword arguments (module docstring).

    Returns:
        A `keras.Model` named "model_c".

    Raises:
        ValueError: for an unknown choice or too small an input.

    Example:

    >>> model = model_c(activation="prelu")  # Table 6: 5.71% top-5, single model
    """
    return _build("model_c", _table3_architecture(6, (384, 768, 896)), **kwargs)
