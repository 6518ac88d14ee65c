"""Backend-neutral helpers for the tests (TensorFlow and JAX)."""

import keras
import numpy as np


def gradients(fn, inputs, upstream):
    """Gradients of sum(fn(*inputs) * upstream) with respect to each input, as NumPy."""
    inputs = [np.asarray(x) for x in inputs]
    if keras.backend.backend() == "jax":
        import jax
        import jax.numpy as jnp

        def loss(*xs):
            return jnp.sum(fn(*xs) * upstream)

        grads = jax.grad(loss, argnums=tuple(range(len(inputs))))(*inputs)
        return [np.asarray(g) for g in grads]
    import tensorflow as tf

    tensors = [tf.convert_to_tensor(x) for x in inputs]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        loss = tf.reduce_sum(fn(*tensors) * upstream)
    return [np.asarray(g) for g in tape.gradient(loss, tensors)]


def layer_gradients(layer, x, upstream):
    """(d/dx, [d/dw for each trainable weight]) of sum(layer(x) * upstream)."""
    weights = [np.asarray(w) for w in layer.trainable_weights]

    def fn(x, *values):
        return layer.stateless_call(list(values), [], x)[0]

    grads = gradients(fn, [x, *weights], upstream)
    return grads[0], grads[1:]


def graph_call(fn, *arrays):
    """Calls fn on arrays whose sizes, all but the last axis, are unknown until run time
    where the backend allows it (a TensorFlow graph with None dims), else eagerly (JAX
    traces concrete shapes). Returns NumPy."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        signature = [
            tf.TensorSpec([None] * (np.ndim(a) - 1) + [np.shape(a)[-1]], np.asarray(a).dtype)
            for a in arrays
        ]
        return np.asarray(tf.function(fn, input_signature=signature)(*arrays))
    return np.asarray(fn(*arrays))
