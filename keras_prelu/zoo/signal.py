"""Signal propagation at initialisation (Sec. 2.2): measured, and as Eqns 8 and 12 predict.

For the conv/fc layers l = 1..L, with responses y_l = W_l x_l + b_l and rectifiers
x_{l+1} = f(y_l) of slope a for y < 0 between them:

- forward (Eqn 9): Var[y_L] = Var[y_1] * prod_{l=2..L} (1 + a^2)/2 * n_l * Var[w_l],
  with n_l = k^2 c_l the connections of a response;
- backward (Eqn 13): with Dy_l the gradient reaching the response of layer l,
  Var[Dy_1] = Var[Dy_L] * prod_{l=2..L} (1 + a^2)/2 * n_hat_l * Var[w_l], n_hat_l = k^2 d_l.
  (Dy_{l-1} = f'(y_{l-1}) Dx_l, so this is Eqn 13's Var[Dx_2] / Var[Dx_{L+1}].)

`predicted_gains` gives each layer's factor (as a std), `signal_propagation` measures
the stds on a random batch. The derivation leaves pooling out: a max pool changes the
stds by a factor of its own, the same whatever the initialisation's scale (the 30-layer
net's 3x3/3 pool1 divides the gradient's std by 3). It also treats the width as
infinite: over the 22 convs of the 30-layer net's third stage (256 channels) a single
net's measured ratio scatters by ~1.4x about ~0.7 with He's initialisation, where Xavier's
is ~2^-10.5.
"""

import math
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

from keras_prelu.zoo.shapes import chain, output_shapes

WEIGHT_LAYERS = (keras.layers.Conv2D, keras.layers.Dense)


class LayerGain(NamedTuple):
    """One conv/fc layer's factors in Eqns 9 and 13, as stds.

    Attributes:
        name: the layer's name.
        forward: sqrt((1 + a^2)/2 * n_l * Var[w_l]).
        backward: sqrt((1 + a^2)/2 * n_hat_l * Var[w_l]).
    """

    name: str
    forward: float
    backward: float


class LayerSignal(NamedTuple):
    """One conv/fc layer's measured stds at initialisation.

    Attributes:
        name: the layer's name.
        forward_std: std of its response y_l.
        backward_std: std of the gradient Dy_l reaching its response.
    """

    name: str
    forward_std: float
    backward_std: float


def predicted_gains(model, negative_slope=0.0):
    """Each conv/fc layer's factor in Eqns 9 and 13, from its actual weights.

    Var[w_l] is the mean square of the layer's kernel. The product of the factors of
    layers 2..L predicts `signal_propagation`'s std ratios y_L / y_1 (forward) and
    Dy_1 / Dy_L (backward), pooling aside. Eqn 10 (`KaimingNormal(mode="fan_in")`) makes every
    forward factor 1, Eqn 14 (`mode="fan_out"`) every backward factor.

    Args:
        model: a chain model (every zoo model is one).
        negative_slope: the rectifiers' slope `a` for x < 0 at initialisation (Eqn 15):
            0 for ReLU, 0.25 for PReLU, LReLU's slope.

    Returns:
        A list of `LayerGain`, one per conv/fc layer, in order.

    Example:

    >>> gains = predicted_gains(vgg19(kernel_initializer="gaussian"))
    >>> math.prod(g.backward for g in gains[1:])  # the gradient's std from fc3 to conv1_1
    """
    gains = []
    for layer in chain(model):
        if not isinstance(layer, WEIGHT_LAYERS):
            continue
        kernel = ops.convert_to_numpy(layer.kernel)
        variance = float(np.mean(np.square(kernel), dtype=np.float64))
        # Kernels are (k, k, c, d) or (c, d): n = k^2 c, n_hat = k^2 d.
        receptive = math.prod(kernel.shape[:-2])
        rectifier = (1 + negative_slope**2) / 2
        gains.append(
            LayerGain(
                layer.name,
                math.sqrt(rectifier * receptive * kernel.shape[-2] * variance),
                math.sqrt(rectifier * receptive * kernel.shape[-1] * variance),
            )
        )
    return gains


def _linear_twin(layer):
    """The layer without its built-in activation (e.g. fc3's softmax), same weights."""
    if layer.activation is keras.activations.linear:
        return layer
    twin = layer.__class__.from_config({**layer.get_config(), "activation": None})
    twin.build(layer.input.shape)
    twin.set_weights(layer.get_weights())
    return twin


def _gradient(fn, args):
    """For `fn(args) -> (scalar, aux)`, returns (d scalar / d args, aux)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(args)
            value, aux = fn(args)
        return tape.gradient(value, args), aux
    if backend == "jax":
        import jax

        return jax.grad(fn, has_aux=True)(args)
    raise ValueError(f"signal_propagation needs the tensorflow or jax backend, not {backend!r}.")


def signal_propagation(model, input_shape=None, batch_size=8, seed=0):
    """Std of every conv/fc layer's response and of the gradient reaching it, at init.

    The batch is N(0, 1) noise. The backward pass starts from N(0, 1) noise injected as
    the gradient of the last conv/fc layer's response (before any classifier
    activation). Dropout is off.

    Args:
        model: a chain model (every zoo model is one), freshly initialised.
        input_shape: `(height, width, channels)` of the random batch; default the
            model's input shape, which must then be fully known.
        batch_size: images in the batch.
        seed: seed of the batch and of the injected gradient.

    Returns:
        A list of `LayerSignal`, one per conv/fc layer, in order.

    Raises:
        ValueError: if the model is not a chain, the batch's shape is not fully known,
            or the backend is neither TensorFlow nor JAX.

    Example:

    >>> trunk = plain(30, include_top=False)
    >>> signals = {s.name: s for s in signal_propagation(trunk, (224, 224, 3), batch_size=1)}
    >>> signals["conv3_22"].forward_std / signals["conv3_1"].forward_std  # Eqn 9: ~1
    """
    layers = chain(model)
    shape = tuple(model.inputs[0].shape[1:]) if input_shape is None else tuple(input_shape)
    if None in shape:
        raise ValueError(
            f"signal_propagation: the batch's shape {shape} is not fully known; give "
            "input_shape=(height, width, channels)."
        )
    shapes = output_shapes(layers, shape)
    last = max(i for i, layer in enumerate(layers) if isinstance(layer, WEIGHT_LAYERS))
    steps = [
        (_linear_twin(layer), layer.activation)
        if isinstance(layer, WEIGHT_LAYERS)
        else (layer, None)
        for layer in layers[: last + 1]
    ]
    generator = keras.random.SeedGenerator(seed)
    images = keras.random.normal((batch_size, *shape), seed=generator)
    injected = keras.random.normal((batch_size, *shapes[last][1:]), seed=generator)
    zeros = [
        ops.zeros((batch_size, *out[1:]))
        for layer, out in zip(layers, shapes, strict=True)
        if isinstance(layer, WEIGHT_LAYERS)
    ]

    def forward(perturbations):
        # A zero added to each response y_l makes its gradient the gradient Dy_l.
        x, responses = images, []
        for layer, activation in steps:
            x = layer(x, training=False)
            if activation is not None:
                x = x + perturbations[len(responses)]
                responses.append(x)
                x = activation(x)
        return ops.sum(responses[-1] * injected), responses

    gradients, responses = _gradient(forward, zeros)
    weighted = [layer for layer in layers if isinstance(layer, WEIGHT_LAYERS)]
    return [
        LayerSignal(layer.name, float(ops.std(y)), float(ops.std(gradient)))
        for layer, y, gradient in zip(weighted, responses, gradients, strict=True)
    ]
