"""Argument standardisation and run-time input checks shared by the layers."""

import functools

import keras
from keras import ops

DATA_FORMATS = ("channels_last", "channels_first")


def standardize_data_format(data_format):
    """`None` means `keras.config.image_data_format()`; anything else must be valid."""
    data_format = keras.config.image_data_format() if data_format is None else data_format
    if data_format not in DATA_FORMATS:
        raise ValueError(f"Unknown data_format {data_format!r}; use one of {DATA_FORMATS}.")
    return data_format


def _raise_unless(condition, message):
    if not bool(condition):
        raise ValueError(message)


def checked(value, condition, message):
    """`value`, once `condition` (a Python or tensor boolean) holds; else fails with `message`.

    - Eager values (any backend) raise `ValueError`.
    - In a TensorFlow graph (`tf.function`, `tf.data`) the check is an assertion op that
      fails the step with `InvalidArgumentError` and the message; `value` is returned
      behind it, so what is computed from `value` waits for the check.
    - Under `jax.jit` a host callback raises it (a `JaxRuntimeError` with the message).
    - Under `torch.compile` (Keras's torch `jit_compile=True`) an assertion op raises a
      `RuntimeError` with the message.
    - In a TensorFlow function compiled with XLA nothing can fail at run time: the op is
      dropped (see `xla_compiling`).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.is_tensor(condition) and not tf.executing_eagerly():
            with tf.control_dependencies([tf.debugging.Assert(condition, [message])]):
                return tf.identity(value)
    elif backend == "jax":
        import jax

        if isinstance(condition, jax.core.Tracer):
            jax.debug.callback(functools.partial(_raise_unless, message=message), condition)
            return value
    elif backend == "torch":
        import torch

        if torch.is_tensor(condition) and torch.compiler.is_compiling():
            # An assertion op keeps the compiled graph whole (bool() would break it).
            torch._assert_async(condition, message)
            return value
    _raise_unless(condition, message)
    return value


def xla_compiling():
    """True while a TensorFlow function is traced for XLA (`jit_compile=True`).

    XLA drops assertion ops, so a failed check cannot stop the step there: the layers
    then make the outputs of bad inputs NaN, and the public checks (`check_rois`,
    `check_input_size`) are to be run before the compiled step.
    """
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_util

    return not tf.executing_eagerly() and control_flow_util.GraphOrParentsInXlaContext(
        tf.compat.v1.get_default_graph()
    )


def nan_where(mask, x):
    """`x` with NaN wherever `mask` (broadcast against `x`) is true."""
    return ops.where(mask, ops.cast(float("nan"), x.dtype), x)
