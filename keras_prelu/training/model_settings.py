"""The model section of a task's settings: a zoo model by name and the zoo's own options.

The options are the fields of `keras_prelu.zoo.ModelOptions`, taken from the zoo itself:
a new zoo option is a field there, and every recipe's settings, flags and config files
have it at once.
"""

import dataclasses

from keras_prelu import zoo
from keras_prelu.settings import Settings, setting


@dataclasses.dataclass(frozen=True)
class _ModelName(Settings):
    model: str = setting(
        "model_a", f"a zoo model: one of {', '.join(zoo.names())}, or plain<depth>")

    def __post_init__(self):
        super().__post_init__()
        self.model_options()  # the zoo checks its options (ranges, combinations)

    def model_options(self):
        """The zoo options of these settings, a `keras_prelu.zoo.ModelOptions`."""
        return zoo.ModelOptions(**{field.name: getattr(self, field.name)
                                   for field in dataclasses.fields(zoo.ModelOptions)})

    def build_model(self, *, input_shape, classes, **kwargs):
        """`zoo.get(self.model, input_shape=..., classes=..., <the options>, **kwargs)`."""
        options = dataclasses.asdict(self.model_options())
        return zoo.get(self.model, input_shape=input_shape, classes=classes, **options,
                       **kwargs)


ModelSettings = dataclasses.make_dataclass(
    "ModelSettings",
    [(field.name, field.type, dataclasses.field(default=field.default, metadata=field.metadata))
     for field in dataclasses.fields(zoo.ModelOptions)],
    bases=(_ModelName,),
    frozen=True,
    namespace={"__module__": __name__,
               "__doc__": "Which zoo model a run trains, and its options (`zoo.ModelOptions`)."},
)
