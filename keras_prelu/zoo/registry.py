"""The zoo as data: one `ModelRecord` per model, registered by `@register_model`.

As timm's `register_model` and `default_cfgs`: each builder of `keras_prelu.zoo.networks`
is decorated with its record: what the paper says about the model (read from
`keras_prelu.paper` under the model's name), its default activation, and what its model
card shows besides the common sections. `names()`, `record(name)` and `get(name)` read
the records; so do the model cards and the tests.

>>> from keras_prelu import zoo
>>> zoo.record("model_c").complexity  # Table 3
5.3e+10
>>> model = zoo.get("plain22")  # a member of plain30's family
"""

import dataclasses
import inspect
from collections.abc import Callable
from typing import NamedTuple

from keras_prelu import paper


class CardVariant(NamedTuple):
    """An extra build a model card summarises: a label and the builder's arguments."""

    label: str
    arguments: dict


class CardTable(NamedTuple):
    """An extra table of a model card: its title, column headers and rows."""

    title: str
    columns: tuple
    rows: tuple


@dataclasses.dataclass(frozen=True)
class ModelRecord:
    """Everything the zoo knows about one registered model.

    Attributes:
        name: the registered name, also the built model's name.
        builder: the function that builds it (`networks.model_a`, ...).
        source: where in the paper the model is described.
        depth: its conv + fc layers, as the paper counts them.
        complexity: Table 3's multiply-adds at 224 x 224, or None where not reported.
        errors: the paper's reported errors (`keras_prelu.paper.Error` tuples).
        activation: the rectifier it is built with by default (an `activation` choice
            of `ModelOptions`): the one the paper's best result with it used.
        family: None, or a name prefix: then the builder takes one int, the number in
            the name (`"plain30"`: `builder(30)`), and `get(f"{family}<n>")` builds the
            family's member n with this record's defaults.
        card_variants: other builds whose size the model card states (`CardVariant`).
        card_tables: extra tables of the model card (`CardTable`).
    """

    name: str
    builder: Callable
    source: str
    depth: int
    complexity: float | None
    errors: tuple
    activation: str
    family: str | None = None
    card_variants: tuple = ()
    card_tables: tuple = ()


_RECORDS = {}


def register_model(name=None, *, activation, family=None, card_variants=(), card_tables=()):
    """Registers a builder under `name` (default: the builder's own name).

    The paper's facts come from `keras_prelu.paper` under `name`: `SOURCES`, `DEPTH`,
    `TABLE3_COMPLEXITY` (absent: None) and `ERRORS`.

    Args:
        name: the model's name; default the decorated function's `__name__`.
        activation: the default activation (`ModelRecord.activation`).
        family: the name prefix of the builder's family, or None (`ModelRecord.family`).
        card_variants: `ModelRecord.card_variants`.
        card_tables: `ModelRecord.card_tables`.

    Returns:
        A decorator that records the builder and returns it unchanged.

    Raises:
        ValueError: if the name is already registered, or `keras_prelu.paper` does not
            describe it.

    Example:

    >>> @register_model(activation="prelu")
    ... def model_a(**kwargs): ...
    """

    def decorator(builder):
        registered = builder.__name__ if name is None else name
        if registered in _RECORDS:
            raise ValueError(f"A model named {registered!r} is already registered.")
        if registered not in paper.SOURCES:
            raise ValueError(
                f"keras_prelu.paper does not describe {registered!r}; add its SOURCES, "
                "DEPTH and ERRORS entries before registering it."
            )
        _RECORDS[registered] = ModelRecord(
            name=registered,
            builder=builder,
            source=paper.SOURCES[registered],
            depth=paper.DEPTH[registered],
            complexity=paper.TABLE3_COMPLEXITY.get(registered),
            errors=paper.ERRORS[registered],
            activation=activation,
            family=family,
            card_variants=tuple(card_variants),
            card_tables=tuple(card_tables),
        )
        return builder

    return decorator


def names():
    """The registered model names, in the paper's order (Table 1, Sec. 2.2, Table 3)."""
    return list(_RECORDS)


def record(name):
    """The `ModelRecord` of the registered model `name`.

    Raises:
        ValueError: if `name` is not registered (the message lists `names()`).

    Example:

    >>> record("small14").errors[-2]  # Table 2's best
    Error(setting='PReLU, channel-wise', top1=32.64, top5=12.75, source='Table 2, 10-view')
    """
    if isinstance(name, str) and name in _RECORDS:
        return _RECORDS[name]
    raise ValueError(_unknown(name))


def get(name, **kwargs):
    """Builds the model `name`.

    Args:
        name: one of `names()`, or `<family><n>` for any member of a registered family
            (`"plain22"`: `plain(22)`, the plain net of 22 layers; see `ModelRecord.family`).
        **kwargs: the builder's arguments (`keras_prelu.zoo.networks`): include_top,
            weights, input_tensor, input_shape, pooling, classes, classifier_activation
            and the `ModelOptions` fields.

    Returns:
        A new `keras.Model`, with fresh random weights unless `weights` names a file.

    Raises:
        ValueError: if `name` is not a string naming a registered model or a member of a
            registered family (the message lists them), or for the builder's own bad
            arguments.

    Example:

    >>> model = get("model_c")  # channel-wise PReLU, the paper's best single model
    >>> model = get("model_a", weights="runs/a/model.keras", classes=10)
    """
    if isinstance(name, str) and name in _RECORDS:
        found = _RECORDS[name]
        if found.family is None:
            return found.builder(**kwargs)
        return found.builder(int(name.removeprefix(found.family)), **kwargs)
    for found in _RECORDS.values():
        prefix = found.family
        if prefix and isinstance(name, str) and name.startswith(prefix):
            number = name[len(prefix) :]
            if number.isascii() and number.isdigit():
                return found.builder(int(number), **kwargs)
    raise ValueError(_unknown(name))


def _unknown(name):
    families = [
        f"{found.family}<{next(iter(inspect.signature(found.builder).parameters))}>"
        for found in _RECORDS.values()
        if found.family is not None
    ]
    known = f"registered models: {names()}" + "".join(f", or {f}" for f in families)
    if not isinstance(name, str):
        return f"A model name must be a string, got {name!r}; {known}."
    return f"Unknown model {name!r}; {known}."
