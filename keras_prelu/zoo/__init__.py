"""The paper's networks (Tables 1 and 3, Sec. 2.2), their complexity and signal propagation.

>>> import keras_prelu.zoo as zoo
>>> zoo.names()
['small14', 'plain30', 'vgg19', 'model_a', 'model_b', 'model_c']
>>> zoo.record("model_a").activation  # the paper's PReLU model (Tables 4-6)
'prelu'
>>> model = zoo.get("model_a")
>>> zoo.complexity(model).macs  # Table 3: 1.90e10
19058106368
>>> trunk, spp, head = zoo.split(model)  # conv trunk, pyramid, fc head

Model cards: `python -m keras_prelu.zoo.cards zoo` (`make cards`).
"""

from keras_prelu.zoo.complexity import Complexity, LayerCost, complexity
from keras_prelu.zoo.networks import model_a, model_b, model_c, plain, small14, vgg19
from keras_prelu.zoo.options import ModelOptions
from keras_prelu.zoo.registry import ModelRecord, get, names, record, register_model
from keras_prelu.zoo.shapes import min_input_size
from keras_prelu.zoo.signal import LayerGain, LayerSignal, predicted_gains, signal_propagation
from keras_prelu.zoo.split import Split, split

__all__ = [
    "Complexity",
    "LayerCost",
    "LayerGain",
    "LayerSignal",
    "ModelOptions",
    "ModelRecord",
    "Split",
    "complexity",
    "get",
    "min_input_size",
    "model_a",
    "model_b",
    "model_c",
    "names",
    "plain",
    "predicted_gains",
    "record",
    "register_model",
    "signal_propagation",
    "small14",
    "split",
    "vgg19",
]
