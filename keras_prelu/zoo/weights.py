"""Weights of a zoo model from a file: the `weights=` argument of every builder.

A file is a `.weights.h5` (`model.save_weights`) or a `.keras` archive (`model.save`, e.g.
the training recipe's `model.keras`) of the same architecture: built with the same
options and class count (the input's height and width may differ: the SPP head takes any
size). With `include_top=False` the trunk's weights come from a full model's file: the
trunk's layers are the first layers of the full model, under the same names.

Keras stores a layer's variables under an entry named after its class and its rank among
the model's layers of that class (`conv2d`, `conv2d_1`, ...), not after the layer's name.
A `.keras` archive also holds the model's config, which gives each entry's layer name;
a `.weights.h5` file does not, so its entries are matched with this model's layers in
order.
"""

import collections
import contextlib
import json
import os
import pathlib
import zipfile

import h5py

# How Keras's saving_lib names a layer's entry (there is no public alias).
from keras.src.utils.naming import to_snake_case

EXTENSIONS = (".weights.h5", ".keras")


def weights_path(weights):
    """The path `weights` names, checked before a model is built.

    Raises:
        ValueError: if `weights` is not a path, or not of a `.weights.h5` or `.keras` file.
        FileNotFoundError: if there is no such file.
    """
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(
            f"weights must be None or the path of a .weights.h5 or .keras file, got {weights!r}."
        )
    path = pathlib.Path(weights)
    if not path.name.endswith(EXTENSIONS):
        raise ValueError(
            f"weights={str(weights)!r} is not a .weights.h5 or .keras file; the zoo has no "
            "pretrained weights to download: give None or the path of a file you saved."
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"weights file {path} does not exist; give the path of a file saved from this model."
        )
    return path


def load_weights(model, path, include_top):
    """Sets the weights of a freshly built zoo model from a saved file.

    Args:
        model: the model, built with the options and class count of the saved one.
        path: a checked `weights_path`.
        include_top: whether `model` has its SPP head and fc layers; without them it
            takes the first layers of the saved model.

    Raises:
        ValueError: naming the saved model and this one, if the file holds another
            model (`.keras`: its name, class count or input channels differ), or a layer
            of this one is missing from it or has other shapes there (a model built with
            other options); if the file holds more layers than this model (include_top);
            or if it is not a Keras weights file.
    """
    channels = model.inputs[0].shape[-1]
    classes = model.outputs[0].shape[-1] if include_top else None
    ours = _describe(model.name, classes, channels)
    with _open(path) as (entries, config):
        if config is None:  # a .weights.h5 file: its entries are this model's, in order
            layers = [(layer.name, type(layer).__name__) for layer in model.layers]
            saved = "the file"
        else:
            layers = config["config"]["layers"]
            saved_name = config["config"]["name"]
            saved_channels = next(
                layer["config"]["batch_shape"][-1]
                for layer in layers
                if layer["class_name"] == "InputLayer"
            )
            saved_classes = layers[-1]["config"].get("units")
            saved = _describe(saved_name, saved_classes, saved_channels)
            if (saved_name, saved_channels) != (model.name, channels) or (
                include_top and saved_classes != classes
            ):
                raise ValueError(
                    f"{path} holds {saved}, not {ours}; build the model it was saved from, "
                    "or give this model's file."
                )
            layers = [(layer["config"]["name"], layer["class_name"]) for layer in layers]
        keys = _entry_keys(layers)
        loaded = set()
        for layer in model.layers:
            variables = {}
            layer.save_own_variables(variables)  # the layer's variables, not copies
            if not variables:
                continue
            key = keys.get(layer.name)
            stored = entries[key]["vars"] if key in entries else {}
            values = [stored[str(i)] for i in range(len(stored))]
            shapes = [tuple(variable.shape) for variable in variables.values()]
            if [value.shape for value in values] != shapes:
                found = [value.shape for value in values] or "none"
                raise ValueError(
                    f"{path} does not fit {ours}: layer {layer.name!r} has weights of shapes "
                    f"{shapes} here and {found} in {saved}; build it with the options the "
                    "saved model was built with (width, stem, fc_units, spp_levels, "
                    "activation, ...)."
                )
            layer.load_own_variables({str(i): value[()] for i, value in enumerate(values)})
            loaded.add(key)
        extra = sorted(key for key in entries if len(entries[key].get("vars", ())))
        extra = [key for key in extra if key not in loaded]
        if include_top and extra:
            raise ValueError(
                f"{path} holds {ours} and more: weights of {len(extra)} "
                f"layer{'s' * (len(extra) > 1)} it lacks "
                f"({', '.join(extra[:3])}{', ...' if len(extra) > 3 else ''}); it was saved "
                "from another architecture."
            )


def _describe(name, classes, channels):
    top = "no classifier" if classes is None else f"{classes} classes"
    return f"{name} ({top}, {channels} input channel{'' if channels == 1 else 's'})"


def _entry_keys(layers):
    """{layer name: its entry in a Keras weights file} for `(name, class name)` pairs in
    the model's layer order: the class in snake case, then `_1`, `_2`, ... for the
    second, third, ... layer of that class (Keras's `saving_lib`)."""
    seen = collections.Counter()
    keys = {}
    for name, class_name in layers:
        base = to_snake_case(class_name)
        keys[name] = base if not seen[base] else f"{base}_{seen[base]}"
        seen[base] += 1
    return keys


@contextlib.contextmanager
def _open(path):
    """Yields the file's `layers` group of weight entries and its model config (None for
    a `.weights.h5` file)."""
    with contextlib.ExitStack() as stack:
        try:
            if path.name.endswith(".keras"):
                archive = stack.enter_context(zipfile.ZipFile(path))
                config = json.loads(archive.read("config.json"))
                h5 = stack.enter_context(h5py.File(archive.open("model.weights.h5"), "r"))
            else:
                config, h5 = None, stack.enter_context(h5py.File(path, "r"))
        except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as error:
            kind = ".keras" if path.name.endswith(".keras") else ".weights.h5"
            raise ValueError(
                f"{path} is not a Keras {kind} file ({error}); write one with model.save "
                "or model.save_weights."
            ) from None
        if "layers" not in h5:
            raise ValueError(f"{path} holds no layer weights of a Keras model.")
        yield h5["layers"], config
