"""The zoo's registry: every model by name, as `names()` and `get(name, **kwargs)`."""

import functools

from keras_prelu.zoo import networks

_BUILDERS = {
    "small14": networks.small14,
    "plain30": functools.partial(networks.plain, 30),
    "vgg19": networks.vgg19,
    "model_a": networks.model_a,
    "model_b": networks.model_b,
    "model_c": networks.model_c,
}


def names():
    """The registered model names, in the paper's order (Table 1, Sec. 2.2, Table 3)."""
    return list(_BUILDERS)


def get(name, **kwargs):
    """Builds the registered model `name`.

    Args:
        name: one of `names()`, or "plain<depth>" for a plain net of any depth >= 9
            (`plain(depth)`; "plain30" is the paper's).
        **kwargs: passed to the builder (see `keras_prelu.zoo.networks`).

    Returns:
        A new `keras.Model`, with fresh random weights (there are no pretrained ones).

    Raises:
        ValueError: if `name` is not registered (the message lists `names()`), or for the
            builder's own bad arguments.

    Example:

    >>> model = get("model_c", activation="prelu")
    """
    depth = name.removeprefix("plain")
    if name not in _BUILDERS and name.startswith("plain") and depth.isdigit():
        return networks.plain(int(depth), **kwargs)
    if name not in _BUILDERS:
        raise ValueError(
            f"Unknown model {name!r}; registered models: {names()}, or plain<depth>."
        )
    return _BUILDERS[name](**kwargs)
