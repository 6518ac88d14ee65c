"""The paper's networks as Keras functional-API builders (Tables 1 and 3, Sec. 2.2).

Every builder returns a `keras.Model` that is a plain chain of layers named as in the
paper: convs `conv1`, `conv2_1`, ... (stage_index), pools `pool1`, ..., the pyramid `spp`,
then `fc1 -> fc1_act -> fc1_dropout -> fc2 -> fc2_act -> fc2_dropout -> fc3`; each
rectifier is a layer named after the layer it follows (`conv2_1_act`, `fc1_act`).
Images are channels-last whatever `keras.config.image_data_format()` says. Each builder
is registered with its `ModelRecord` (`keras_prelu.zoo.record(name)`).

Every builder takes the arguments of `keras.applications`:

- `include_top=True`: the SPP head and the three fc layers. `False` ends at the last
  conv's rectifier (the convolutional trunk), optionally pooled by `pooling`.
- `weights=None`: or the path of a `.weights.h5` or `.keras` file saved from a model of
  the same architecture (same options and classes), e.g. the training recipe's
  `model.keras`; with `include_top=False` the trunk's weights of a full model's file.
- `input_tensor=None`: a Keras tensor to use as the input instead (not with
  `input_shape`).
- `input_shape=None`: `(height, width, channels)`, positive ints, height and width may be
  None; default `(None, None, 3)`: the SPP head takes any size from the minimum up
  (`channels=1` for grayscale).
- `pooling=None | "avg" | "max"`: global pooling of the trunk when `include_top=False`.
- `classes=1000`, `classifier_activation="softmax"`: fc3's units and activation (a Keras
  activation name, or `None` for logits).

and, as keyword arguments, the fields of `ModelOptions` (`keras_prelu.zoo.options`; the
defaults are the paper's): `activation` (default: the model's own, channel-wise PReLU
for small14 and models A, B, C as in Tables 2, 5 and 6, ReLU for vgg19 and the plain
nets as the paper trained them), `negative_slope`, `kernel_initializer` (Eqn 14's He
init by default), `gaussian_std`, `small_fc_init` (default True: fc1, fc2 std 0.01 and
fc3 0.001, Sec. 2.2), `dropout`, `weight_decay`, and the knobs for small inputs and
CPU-scale runs `width`, `stem`, `spp_levels`, `fc_units`. Weight decay reaches conv and
fc kernels only, never PReLU slopes or biases (Sec. 2.1, Sec. 3); biases start at 0.
"""

import dataclasses
from typing import NamedTuple

import keras

from keras_prelu import paper
from keras_prelu.initializers import KaimingNormal
from keras_prelu.layers import PReLU, SpatialPyramidPooling
from keras_prelu.weight_decay import KernelDecay
from keras_prelu.zoo.options import ModelOptions
from keras_prelu.zoo.registry import CardTable, CardVariant, record, register_model
from keras_prelu.zoo.shapes import min_input_size
from keras_prelu.zoo.weights import load_weights, weights_path

POOLINGS = (None, "avg", "max")
HEADS = ("spp", "flatten")
# The keras.applications arguments every builder takes besides the ModelOptions fields.
APPLICATION_ARGUMENTS = (
    "include_top",
    "weights",
    "input_tensor",
    "input_shape",
    "pooling",
    "classes",
    "classifier_activation",
)

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
    """A trunk: the "imagenet" and "small" stems, then the body; and the SPP levels."""

    stems: dict
    body: list
    spp_levels: tuple

    def stem(self, name):
        """The stem's layers; "small_pooled" is the small stem and a 2x2 pool1."""
        if name == "small_pooled":
            return [*self.stems["small"], Pool("pool1", 2)]
        return self.stems[name]


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


def _is_positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_arguments(name, include_top, input_shape, pooling, classes, classifier_activation):
    """Validates the keras.applications arguments (all but weights and input_tensor)."""
    if not isinstance(include_top, bool):
        raise ValueError(f"{name}: include_top must be True or False, got {include_top!r}.")
    if input_shape is not None and not (
        isinstance(input_shape, (tuple, list))
        and len(input_shape) == 3
        and all(side is None or _is_positive_int(side) for side in input_shape[:2])
        and _is_positive_int(input_shape[2])
    ):
        raise ValueError(
            f"{name}: input_shape={input_shape!r} must be (height, width, channels) of "
            "positive ints, height and width possibly None: e.g. (28, 28, 1) for grayscale."
        )
    _check_choice("pooling", pooling, POOLINGS)
    if not _is_positive_int(classes):
        raise ValueError(f"{name}: classes={classes!r} must be a positive int, fc3's units.")
    if classifier_activation is not None and not _is_activation_name(classifier_activation):
        raise ValueError(
            f"{name}: classifier_activation={classifier_activation!r} is not a Keras "
            "activation name; use e.g. 'softmax', or None for logits."
        )


def _is_activation_name(value):
    if not isinstance(value, str):
        return False
    try:
        keras.activations.get(value)
    except ValueError:
        return False
    return True


def _options(name, options, head):
    """`ModelOptions(**options)`, with one error listing every argument for unknown ones."""
    fields = [field.name for field in dataclasses.fields(ModelOptions)]
    unknown = sorted(set(options) - set(fields))
    if unknown:
        arguments = [*(("head",) if head is not None else ()), *APPLICATION_ARGUMENTS]
        raise ValueError(
            f"{name}: unknown argument{'s' * (len(unknown) > 1)} {', '.join(unknown)}; "
            f"it takes {', '.join(arguments)} and the ModelOptions {', '.join(fields)}."
        )
    return ModelOptions(**options)


def _initial_slope(activation, negative_slope):
    """The rectifier's slope for x < 0 at initialisation (the `a` of Eqn 15)."""
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
        return KaimingNormal(slope, mode="fan_out")
    if kind == "he_fan_in":
        return KaimingNormal(slope, mode="fan_in")
    if kind == "xavier":
        return KaimingNormal(1.0, mode="fan_in")  # n Var[w] = 1: the linear case (Sec. 2.2).
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
    defaults,
    architecture,
    *,
    name=None,
    head=None,
    include_top,
    weights,
    input_tensor,
    input_shape,
    pooling,
    classes,
    classifier_activation,
    **options,
):
    """The model of `architecture` with the record `defaults`' default activation.

    `name` defaults to the record's; `head` is vgg19's choice (None: the SPP head).
    """
    name = defaults.name if name is None else name
    _check_arguments(name, include_top, input_shape, pooling, classes, classifier_activation)
    if head is not None:
        _check_choice("head", head, HEADS)
    path = None if weights is None else weights_path(weights)
    options = _options(name, options, head)
    activation = options.activation or defaults.activation
    slope = _initial_slope(activation, options.negative_slope)
    gaussian_std = paper.GAUSSIAN_STD if options.gaussian_std is None else options.gaussian_std
    decay = KernelDecay(options.weight_decay) if options.weight_decay else None

    def initializer(layer_name):
        if options.small_fc_init and layer_name in paper.SMALL_FC_STDS:  # Sec. 2.2
            return keras.initializers.RandomNormal(stddev=paper.SMALL_FC_STDS[layer_name])
        return _kernel_initializer(options.kernel_initializer, slope, gaussian_std)

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
    for spec in architecture.stem(options.stem) + architecture.body:
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
            max(1, round(spec.filters * options.width)),
            spec.kernel,
            strides=spec.stride,
            padding="valid" if spec.padding == TOP_LEFT else spec.padding,
            data_format=DATA_FORMAT,
            kernel_initializer=initializer(spec.name),
            kernel_regularizer=decay,
            name=spec.name,
        )
        layers += rectified(conv)
    levels = architecture.spp_levels if options.spp_levels is None else options.spp_levels
    flatten = head == "flatten"
    if include_top:
        if not flatten:
            layers.append(SpatialPyramidPooling(levels, data_format=DATA_FORMAT, name="spp"))
        else:  # VGG-19's own head: pool5, then fc1 on the flattened 7x7 map.
            layers += [
                keras.layers.MaxPooling2D(2, data_format=DATA_FORMAT, name="pool5"),
                keras.layers.Flatten(data_format=DATA_FORMAT, name="flatten"),
            ]
        for fc_name in ("fc1", "fc2"):
            layers += rectified(fc(fc_name, options.fc_units))
            layers.append(keras.layers.Dropout(options.dropout, name=f"{fc_name}_dropout"))
        # The classifier computes in float32 even under mixed precision, so the softmax
        # and the loss do not lose precision (Keras's advice for mixed precision).
        layers.append(fc("fc3", classes, classifier_activation, dtype="float32"))
    elif pooling == "avg":
        layers.append(keras.layers.GlobalAveragePooling2D(DATA_FORMAT, name="avg_pool"))
    elif pooling == "max":
        layers.append(keras.layers.GlobalMaxPooling2D(DATA_FORMAT, name="max_pool"))

    fixed = include_top and flatten
    default_shape = (paper.CROP_SIZE, paper.CROP_SIZE, 3) if fixed else (None, None, 3)
    inputs, source_inputs = _input(input_shape, input_tensor, default_shape)
    rows, cols, channels = inputs.shape[1:]
    if fixed and None in (rows, cols):
        raise ValueError(
            f"{name}: head='flatten' needs a fixed input size, got shape {inputs.shape[1:]}."
        )
    known = [side for side in (rows, cols) if side is not None]
    if known:
        need = min_input_size(layers, channels)
        if min(known) < need:
            raise ValueError(
                f"{name}: a {rows}x{cols} input is too small; with stem={options.stem!r}"
                + (f", spp_levels={levels}" if include_top and not flatten else "")
                + f" it needs at least {need}x{need} pixels."
            )
    x = inputs
    for layer in layers:
        x = layer(x)
    model = keras.Model(source_inputs, x, name=name)
    if path is not None:
        load_weights(model, path, include_top)
    return model


@register_model(
    activation="prelu",
    card_tables=(
        CardTable(
            "Learned PReLU slopes (Table 1)",
            ("layer", "channel-shared", "channel-wise (mean)"),
            tuple((layer, *slopes) for layer, slopes in paper.TABLE1_SLOPES.items()),
        ),
    ),
)
def small14(
    *,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    **options,
):
    """The 14-layer model of Table 1 (model E of He & Sun, CVPR 2015; Sec. 2.1).

    conv1 7x7/2, 64; pool1 3x3/3; conv2_1-conv2_4 2x2, 128; pool2 2x2/2; conv3_1-conv3_6
    2x2, 256; spp {6, 3, 2, 1}; fc1, fc2 4096; fc3. The paper's PReLU experiments
    (Tables 1 and 2): channel-wise PReLU by default, Table 2's best. The same network as
    `plain(14, activation="prelu")`.

    Args:
        include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation: as `keras.applications` (module docstring).
        **options: the `ModelOptions` fields.

    Returns:
        A `keras.Model` named "small14".

    Raises:
        ValueError: for a bad argument, an unknown option, an input smaller than the
            minimum size, or a weights file of another architecture.
        FileNotFoundError: if `weights` names no file.

    Example:

    >>> model = small14()  # Table 2's channel-wise PReLU
    >>> tiny = small14(input_shape=(28, 28, 1), stem="small", width=0.25, fc_units=256,
    ...                classes=10)
    """
    return _build(
        record("small14"),
        _plain_architecture(14),
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        **options,
    )


@register_model("plain30", activation="relu", family="plain")
def plain(
    depth,
    *,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    **options,
):
    """A plain net of Sec. 2.2 of any depth >= 9: Table 1's model with more or fewer 2x2 convs.

    The 30-layer net (27 conv + 3 fc; Figures 2-3) adds sixteen 2x2, 256-filter convs to
    Table 1's stage 3 (conv3_7-conv3_22); other depths add or remove convs there. ReLU by
    default, as the paper trained these nets to compare initialisations.

    Args:
        depth: conv + fc layers, an int >= 9 (one conv in stage 3); 14 is Table 1's
            model, 30 the net Xavier initialisation cannot train (Figure 3, right).
        include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation: as `keras.applications` (module docstring).
        **options: the `ModelOptions` fields.

    Returns:
        A `keras.Model` named "plain<depth>".

    Raises:
        ValueError: for a depth that is not an int >= 9, a bad argument, an unknown
            option, too small an input, or a weights file of another architecture.
        FileNotFoundError: if `weights` names no file.

    Example:

    >>> model = plain(30, kernel_initializer="xavier")  # the net that stalls
    """
    if not isinstance(depth, int) or isinstance(depth, bool):
        raise ValueError(
            f"plain: depth must be an int, the number of conv + fc layers (>= 9), got "
            f"{depth!r} ({type(depth).__name__}); e.g. plain(30)."
        )
    if depth < 9:
        raise ValueError(f"plain: depth counts conv + fc layers and must be >= 9, got {depth}.")
    return _build(
        record("plain30"),  # every depth takes the defaults of the family's registered net
        _plain_architecture(depth),
        name=f"plain{depth}",
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        **options,
    )


@register_model(
    activation="relu",
    card_variants=(CardVariant('head="flatten" (VGG\'s own)', {"head": "flatten"}),),
)
def vgg19(
    *,
    head="spp",
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    **options,
):
    """VGG-19 (Simonyan & Zisserman), Table 3's first column, as the paper reproduced it.

    Two 3x3 convs at 224 (64 filters) and 112 (128), four at 56 (256), 28 and 14 (512),
    2x2 max pools between; the last pool replaced by spp {7, 3, 2, 1}; fc1, fc2 4096; fc3.
    ReLU by default, as VGG-19 was trained.

    Args:
        head: `"spp"` (default, the paper's reproduction) or `"flatten"`: VGG's own
            pool5 2x2/2 and a flattened 7x7 map into fc1; it needs a fixed input size
            (default 224 x 224).
        include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation: as `keras.applications` (module docstring).
        **options: the `ModelOptions` fields.

    Returns:
        A `keras.Model` named "vgg19".

    Raises:
        ValueError: for a bad argument, an unknown option, too small an input, or a
            weights file of another architecture.
        FileNotFoundError: if `weights` names no file.

    Example:

    >>> model = vgg19()
    >>> original = vgg19(head="flatten")
    """
    return _build(
        record("vgg19"),
        _vgg19_architecture(),
        head=head,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        **options,
    )


@register_model(activation="prelu")
def model_a(
    *,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    **options,
):
    """Table 3's model A, the paper's 19-layer baseline (Sec. 3).

    conv1 7x7/2, 96; 2x2 pool /2; five 3x3 convs at each of the 56, 28 and 14 stages
    (256, 512, 512 filters), 2x2 pools /2 between; spp {7, 3, 2, 1}; fc1, fc2 4096; fc3.
    Channel-wise PReLU by default (Tables 4 and 5 compare it with ReLU).

    Args:
        include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation: as `keras.applications` (module docstring).
        **options: the `ModelOptions` fields.

    Returns:
        A `keras.Model` named "model_a".

    Raises:
        ValueError: for a bad argument, an unknown option, too small an input, or a
            weights file of another architecture.
        FileNotFoundError: if `weights` names no file.

    Example:

    >>> model = model_a()  # Table 4's PReLU model
    >>> baseline = model_a(activation="relu")
    """
    return _build(
        record("model_a"),
        _table3_architecture(5, (256, 512, 512)),
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        **options,
    )


@register_model(activation="prelu")
def model_b(
    *,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    **options,
):
    """Table 3's model B: model A with six 3x3 convs per stage (22 layers); PReLU.

    Args:
        include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation: as `keras.applications` (module docstring).
        **options: the `ModelOptions` fields.

    Returns:
        A `keras.Model` named "model_b".

    Raises:
        ValueError: for a bad argument, an unknown option, too small an input, or a
            weights file of another architecture.
        FileNotFoundError: if `weights` names no file.

    Example:

    >>> model = model_b()  # Tables 5 and 6
    """
    return _build(
        record("model_b"),
        _table3_architecture(6, (256, 512, 512)),
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        **options,
    )


@register_model(activation="prelu")
def model_c(
    *,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    **options,
):
    """Table 3's model C: model B wider, 384, 768 and 896 filters (the paper's best); PReLU.

    Full size it has several hundred million parameters, most in fc1 (SPP's 63 bins x 896
    channels in, 4096 out); see its model card for the exact count.

    Args:
        include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation: as `keras.applications` (module docstring).
        **options: the `ModelOptions` fields.

    Returns:
        A `keras.Model` named "model_c".

    Raises:
        ValueError: for a bad argument, an unknown option, too small an input, or a
            weights file of another architecture.
        FileNotFoundError: if `weights` names no file.

    Example:

    >>> model = model_c()  # Table 6: 5.71% top-5, single model
    """
    return _build(
        record("model_c"),
        _table3_architecture(6, (384, 768, 896)),
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        **options,
    )
