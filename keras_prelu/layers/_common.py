"""Argument standardisation and run-time input checks shared by the layers."""

import keras

DATA_FORMATS = ("channels_last", "channels_first")


def standardize_data_format(data_format):
    """`None` means `keras.config.image_data_format()`; anything else must be valid."""
    data_format = keras.config.image_data_format() if data_format is None else data_format
    if data_format not in DATA_FORMATS:
        raise ValueError(f"Unknown data_format {data_format!r}; use one of {DATA_FORMATS}.")
    return data_format


def check(condition, message):
    """Fails with `message` when `condition` (a Python or tensor boolean) is false.

    Eager values are checked at once (`ValueError`). In a TensorFlow graph, where a
    size or value is known only at run time, the check becomes an assertion op that
    fails the step with the same message. Under `jax.jit` traced values cannot be
    inspected: the check then runs only when the layer is called eagerly.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if tf.is_tensor(condition) and not tf.executing_eagerly():
            tf.debugging.Assert(condition, [message])
            return
    elif keras.backend.backend() == "jax":
        import jax

        if isinstance(condition, jax.core.Tracer):
            return
    if not bool(condition):
        raise ValueError(message)
