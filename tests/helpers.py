"""Backend-neutral helpers for the tests (TensorFlow, JAX and torch)."""

import functools

import keras
import numpy as np
import pytest


def numpy(x):
    """A backend tensor (torch's too, when it requires grad) as a NumPy array."""
    return keras.ops.convert_to_numpy(x)


def gradients(fn, inputs, upstream):
    """Gradients of sum(fn(*inputs) * upstream) with respect to each input, as NumPy
    (None for an input that does not reach the output)."""
    inputs = [np.asarray(x) for x in inputs]
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def loss(*xs):
            return jnp.sum(fn(*xs) * upstream)

        grads = jax.grad(loss, argnums=tuple(range(len(inputs))))(*inputs)
        return [np.asarray(g) for g in grads]
    if backend == "torch":
        import torch

        tensors = [torch.tensor(x, requires_grad=True) for x in inputs]
        loss = torch.sum(fn(*tensors) * torch.as_tensor(upstream))
        grads = torch.autograd.grad(loss, tensors, allow_unused=True)
        return [None if g is None else g.numpy() for g in grads]
    import tensorflow as tf

    tensors = [tf.convert_to_tensor(x) for x in inputs]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        loss = tf.reduce_sum(fn(*tensors) * upstream)
    return [None if g is None else np.asarray(g) for g in tape.gradient(loss, tensors)]


def layer_gradients(layer, x, upstream):
    """(d/dx, [d/dw for each trainable weight]) of sum(layer(x) * upstream)."""
    weights = [numpy(w) for w in layer.trainable_weights]

    def fn(x, *values):
        return layer.stateless_call(list(values), [], x)[0]

    grads = gradients(fn, [x, *weights], upstream)
    return grads[0], grads[1:]


def run(mode, fn, *arrays):
    """fn(*arrays) as NumPy, executed in `mode`:

    - "eager": called at once;
    - "graph": compiled: a `tf.function` whose input signature leaves every axis but the
      last unknown until run time (TensorFlow), `jax.jit` (JAX); eager on torch, whose
      `torch.compile` takes about a minute to trace a layer;
    - "xla": the same `tf.function` with `jit_compile=True` (TensorFlow only: skips the
      test elsewhere).

    The compiled function is kept per (fn, mode, shapes, dtypes): pass the same `fn`
    to reuse a compilation.
    """
    backend = keras.backend.backend()
    if mode == "eager" or (mode == "graph" and backend == "torch"):
        return numpy(fn(*arrays))
    if mode == "xla" and backend != "tensorflow":
        pytest.skip("XLA runs TensorFlow functions only")
    arrays = [np.asarray(a) for a in arrays]
    signature = tuple(
        ((None,) * (a.ndim - 1) + a.shape[-1:], a.dtype.name) for a in arrays
    )
    return numpy(_compiled(fn, mode, signature)(*arrays))


@functools.cache
def _compiled(fn, mode, signature):
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    import tensorflow as tf

    specs = [tf.TensorSpec(shape, dtype) for shape, dtype in signature]
    return tf.function(fn, input_signature=specs, jit_compile=mode == "xla")


def check_failure(mode):
    """The exception a failed run-time input check raises in `mode` ("eager" or "graph")
    on this backend."""
    backend = keras.backend.backend()
    if mode == "eager" or backend == "torch":
        return ValueError
    if backend == "jax":
        import jax

        return jax.errors.JaxRuntimeError
    import tensorflow as tf

    return tf.errors.InvalidArgumentError


def check_keras_layer(cls, kwargs, inputs, tmp_path, input_shapes=None):
    """Checks the Keras contract of `cls(**kwargs)` called on `inputs` (an array or a list):

    - `cls.from_config(get_config())` has the same config, and the class is registered
      as `"keras_prelu>" + cls.__name__`;
    - the output's shape is `compute_output_shape` of the inputs' shapes, both called
      on arrays and in a Functional model on `keras.Input`s of `input_shapes` (default:
      the inputs' shapes without the batch axis; None marks a size unknown until run
      time);
    - that model, its weights set to random values, saved as `.keras` and reloaded
      with `safe_mode=True`, gives identical outputs, and the layer the same config;
    - the layer built with `dtype="mixed_float16"` and the same weights outputs float16
      values close to the float32 ones and keeps float32 weights.
    """
    rng = np.random.default_rng(0)
    layer = cls(**kwargs)
    assert cls.from_config(layer.get_config()).get_config() == layer.get_config()
    assert keras.saving.get_registered_name(cls) == f"keras_prelu>{cls.__name__}"

    listed = isinstance(inputs, list)
    arrays = inputs if listed else [inputs]
    if input_shapes is None:
        input_shapes = [np.shape(a)[1:] for a in arrays]
    symbolic = [keras.Input(shape) for shape in input_shapes]
    symbolic = symbolic if listed else symbolic[0]
    model = keras.Model(symbolic, layer(symbolic))
    symbolic_shapes = [tuple(s.shape) for s in symbolic] if listed else tuple(symbolic.shape)
    assert tuple(model.output.shape) == tuple(layer.compute_output_shape(symbolic_shapes))
    layer.set_weights([rng.uniform(-1, 2, w.shape).astype(w.dtype) for w in layer.weights])
    outputs = numpy(model(inputs))
    shapes = [np.shape(a) for a in arrays]
    assert outputs.shape == tuple(layer.compute_output_shape(shapes if listed else shapes[0]))

    model.save(tmp_path / f"{cls.__name__}.keras")
    reloaded = keras.models.load_model(tmp_path / f"{cls.__name__}.keras", safe_mode=True)
    np.testing.assert_array_equal(numpy(reloaded(inputs)), outputs)
    assert reloaded.get_layer(layer.name).get_config() == layer.get_config()

    mixed = cls(**kwargs, dtype="mixed_float16")
    mixed(inputs)  # builds it
    mixed.set_weights(layer.get_weights())
    half = mixed(inputs)
    assert keras.backend.standardize_dtype(half.dtype) == "float16"
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in mixed.weights)
    np.testing.assert_allclose(numpy(half).astype("float32"), outputs, rtol=2e-3, atol=2e-3)

