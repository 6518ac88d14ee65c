"""Parametric ReLU, Sec. 2.1 of He et al., "Delving Deep into Rectifiers"."""

import numbers

import keras
from keras import ops

from keras_prelu.layers._common import standardize_data_format

MODES = ("channel_wise", "channel_shared")


@keras.saving.register_keras_serializable(package="keras_prelu")
class PReLU(keras.layers.Layer):
    """Parametric Rectified Linear Unit (paper Eqn 1).

    `f(y) = y` for `y > 0` and `f(y) = a * y` otherwise, with the slope `a` learned
    jointly with the network: one slope per channel (`"channel_wise"`) or one for the
    whole layer (`"channel_shared"`), Sec. 2.1.

    Differences from `keras.layers.PReLU`, all deliberate:

    - the slope starts at 0.25 as in the paper (Keras starts at 0, i.e. at ReLU);
    - the slopes are per channel by default, so the layer works on inputs of any spatial
      size, including `keras.Input((None, None, C))`;
    - the output is exact for every slope, `a > 1` and `a = inf` included: positive
      inputs pass through untouched and nothing becomes NaN (Keras computes
      `relu(y) - a * relu(-y)`, which gives `0 * inf = NaN`);
    - it is cheaper: the backward pass reuses the forward pass's slope map, so a
      training step of model A's 3x3 layers costs about as much as with ReLU (see
      `bench/layers.py`); with narrow convs (the demo's 24-96 channels) its elementwise
      passes show (`bench/demo_profile.py`);
    - under mixed precision the slopes stay float32 and their gradient is summed in
      float32; the output has the compute dtype.

    At `y = 0` both branches of Eqn 1 give 0; the layer takes the identity branch
    there, so an infinite slope cannot produce `0 * inf`.

    Weight decay must not reach the slopes (Sec. 2.1: decay pushes PReLU toward ReLU):
    leave `alpha_regularizer` unset and see `keras_prelu.weight_decay`.

    Args:
        mode: `"channel_wise"` (default, one slope per channel) or
            `"channel_shared"` (one slope for the layer).
        alpha_initializer: initial slope, a number (default 0.25, the paper's value)
            or any Keras initializer.
        alpha_regularizer: optional regularizer for the slopes (the paper uses none).
        alpha_constraint: optional constraint for the slopes.
        shared_axes: for code ported from `keras.layers.PReLU`: the axes (1 = first
            axis after the batch) along which slopes are shared, with Keras's meaning.
            When given, it decides the slopes' shape; a `mode` that contradicts it is a
            `ValueError`. Axes not shared must have a known size.
        data_format: `"channels_last"` or `"channels_first"`: where the channel axis
            of 3D+ inputs is. Defaults to `keras.config.image_data_format()`.
            Inputs of shape `(batch, units)` have their channels last either way.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Input shape:
        Any tensor of rank >= 2 whose channel axis has a known size.

    Output shape:
        Same as the input.

    Example:

    >>> x = keras.Input((None, None, 64))
    >>> y = PReLU()(keras.layers.Conv2D(64, 3)(x))
    >>> shared = PReLU(mode="channel_shared")  # one slope, as Table 1's left column

    Reference:

    - [He et al., 2015](https://arxiv.org/abs/1502.01852)
    """

    def __init__(
        self,
        mode=None,
        alpha_initializer=0.25,
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if mode is not None and mode not in MODES:
            raise ValueError(f"PReLU: unknown mode {mode!r}; use one of {MODES}.")
        if isinstance(shared_axes, int):
            shared_axes = [shared_axes]
        if shared_axes is not None:
            shared_axes = sorted(int(axis) for axis in shared_axes)
            if not shared_axes or shared_axes[0] < 1:
                raise ValueError(
                    f"PReLU: shared_axes={shared_axes} must be a non-empty list of axes >= 1 "
                    "(axis 0 is the batch)."
                )
        if mode is None and shared_axes is None:
            mode = "channel_wise"
        self.mode = mode
        self.shared_axes = shared_axes
        self.data_format = standardize_data_format(data_format)
        if isinstance(alpha_initializer, numbers.Number):
            alpha_initializer = keras.initializers.Constant(float(alpha_initializer))
        self.alpha_initializer = keras.initializers.get(alpha_initializer)
        self.alpha_regularizer = keras.regularizers.get(alpha_regularizer)
        self.alpha_constraint = keras.constraints.get(alpha_constraint)
        self.supports_masking = True

    def _channel_axis(self, rank):
        return 1 if self.data_format == "channels_first" and rank > 2 else rank - 1

    def build(self, input_shape):
        rank = len(input_shape)
        if rank < 2:
            raise ValueError(f"PReLU needs inputs of rank >= 2 (batch, ...), got {input_shape}.")
        channel_axis = self._channel_axis(rank)
        per_layer = list(range(1, rank))
        per_channel = [axis for axis in per_layer if axis != channel_axis]
        if self.shared_axes is None:
            shared = per_channel if self.mode == "channel_wise" else per_layer
        else:
            shared = self.shared_axes
            if shared[-1] >= rank:
                raise ValueError(
                    f"PReLU: shared_axes={shared} names an axis beyond the input's rank {rank}."
                )
            implied = {tuple(per_channel): "channel_wise", tuple(per_layer): "channel_shared"}
            if self.mode is not None and implied.get(tuple(shared)) != self.mode:
                raise ValueError(
                    f"PReLU: mode={self.mode!r} contradicts shared_axes={shared} for inputs of "
                    f"rank {rank} with data_format={self.data_format!r}; give one of the two."
                )
        alpha_shape = [1 if axis in shared else input_shape[axis] for axis in per_layer]
        unknown = [axis for axis in per_layer if axis not in shared and input_shape[axis] is None]
        if unknown:
            raise ValueError(
                f"PReLU: input axes {unknown} of shape {tuple(input_shape)} have unknown size "
                "but need one slope per entry; share them (mode='channel_wise' shares every "
                "axis but the channels) or give the input a static shape."
            )
        self._reduce_axes = [0] + [axis for axis in shared if input_shape[axis] != 1]
        self.alpha = self.add_weight(
            name="alpha",
            shape=alpha_shape,
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
            # The slopes stay float32 under mixed precision; `call` casts them.
            autocast=False,
        )
        self.input_spec = keras.layers.InputSpec(
            ndim=rank, axes={axis: input_shape[axis] for axis in per_layer if axis not in shared}
        )

    def call(self, inputs):
        reduce_axes = self._reduce_axes

        @ops.custom_gradient
        def prelu(y, alpha):
            # Eqn 1 as y * s with s = 1 where y >= 0 and a elsewhere: exact for every
            # slope, and s is all the backward pass needs for dE/dy.
            slope = ops.where(y >= 0, ops.ones((), y.dtype), ops.cast(alpha, y.dtype))

            def grad(*args, upstream=None):
                upstream = args[0] if upstream is None else upstream
                # Eqns 2-3: dE/da = sum over positions (and, if shared, channels) of
                # dE/df(y) * y * [y <= 0]; summed in the slopes' float32.
                negative_part = ops.minimum(y, ops.zeros((), y.dtype))
                grad_alpha = ops.sum(
                    ops.cast(upstream, alpha.dtype) * ops.cast(negative_part, alpha.dtype),
                    axis=reduce_axes,
                    keepdims=True,
                )
                return upstream * slope, ops.squeeze(grad_alpha, axis=0)

            return y * slope, grad

        # Read the variable here: the custom gradient must see a tensor, not a variable.
        return prelu(inputs, ops.copy(self.alpha))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mode": self.mode,
                "alpha_initializer": keras.initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": keras.regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": keras.constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes,
                "data_format": self.data_format,
            }
        )
        return config
