"""The paper's networks (Tables 1 and 3, Sec. 2.2), their complexity and signal propagation.

>>> import keras_prelu.zoo as zoo
>>> zoo.names()
['small14', 'plain30', 'vgg19', 'model_a', 'model_b', 'model_c']
>>> model = zoo.get("model_a", activation="prelu")
>>> zoo.complexity(model).macs  # Table 3: 1.90e10
19058106368

Model cards: `python -m keras_prelu.zoo.cards zoo` (`make cards`).
"""

from keras_prelu.zoo.complexity import Complexity, LayerCost, complexity
from keras_prelu.zoo.networks import model_a, model_b, model_c, plain, small14, vgg19
from keras_prelu.zoo.registry import get, names
from keras_prelu.zoo.shapes import min_input_size
from keras_prelu.zoo.signal import LayerGain, LayerSignal, predicted_gains, signal_propagation

__all__ = [
    "Complexity",
    "LayerCost",
    "LayerGain",
    "LayerSignal",
    "complexity",
    "get",
    "min_input_size",
    "model_a",
    "model_b",
    "model_c",
    "names",
    "plain",
    "predicted_gains",
    "signal_propagation",
    "small14",
    "vgg19",
]
