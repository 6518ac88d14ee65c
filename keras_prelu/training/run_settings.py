"""The run section every task's settings share: where, how long and how the training runs.

Its defaults are the paper's ImageNet recipe (Sec. 3): mini-batches of 128, SGD with
momentum 0.9, learning rate 1e-2 -> 1e-3 -> 1e-4 switched when the validation error
plateaus, about 80 epochs.
"""

import dataclasses

from keras_prelu import paper
from keras_prelu.settings import Settings, setting
from keras_prelu.training.precision import MODES as PRECISION_MODES

# Settings that may change when a run is resumed: they decide where and how verbosely it
# runs, or how often it saves, not what is trained. Every other setting is part of the
# run's identity (`RunDirectory`).
RESUMABLE = ("output_dir", "verbose", "checkpoint_every", "start_over")


@dataclasses.dataclass(frozen=True)
class RunSettings(Settings):
    """Where the run writes, its seed and precision, and its optimisation schedule."""

    output_dir: str | None = setting(
        None, "the run's directory; none: runs/<task>-<dataset>-<model>-<hash of the settings>")
    start_over: bool = setting(
        False, "if --output-dir holds another run, move it aside (to <dir>.old-<n>) and start "
        "afresh instead of refusing")
    seed: int | None = setting(
        None, "fixes the initial weights, dropout masks and data order; none: drawn once per run "
        "and kept")
    deterministic: bool = setting(
        False, "deterministic kernels too: the same seed gives bit-identical weights (slower)")
    mixed_precision: str = setting(
        "off", "off (float32), on (float16 on GPUs, bfloat16 on CPUs; slopes and the "
        "classifier stay float32) or native (on where the hardware computes it: GPUs of "
        "compute capability 7.0+, CPUs with AVX512-BF16 or AMX; else off)",
        choices=PRECISION_MODES)
    xla: bool = setting(False, "compile the training step with XLA (jit_compile)")
    global_batch_size: int = setting(
        paper.BATCH_SIZE, "images per step, summed over replicas (Sec. 3: 128)")
    momentum: float = setting(paper.MOMENTUM, "SGD momentum (Sec. 3: 0.9)")
    learning_rates: tuple[float, ...] = setting(
        paper.LEARNING_RATES, "the learning rate's stages (Sec. 3: 1e-2 1e-3 1e-4)")
    switch_epochs: tuple[int, ...] | None = setting(
        None, "epochs (from 0) where the next learning rate starts, one per switch; none: "
        "switch when the validation error plateaus")
    warmup_steps: int = setting(
        0, "steps over which the first learning rate ramps up linearly (not in the paper; "
        "steadies the first steps); 0: none")
    plateau_patience: int = setting(
        3, "epochs without a better validation top-1 error that make a plateau")
    plateau_min_delta: float = setting(
        0.002, "an improvement of the validation top-1 error smaller than this is a plateau")
    epochs: int = setting(paper.EPOCHS, "passes over the training set (Sec. 3: about 80)")
    steps_per_epoch: int | None = setting(
        None, "optimizer steps per epoch, at most one pass; none: one pass over the training set")
    checkpoint_every: int = setting(
        500, "optimizer steps between checkpoints (also at every epoch end)")
    verbose: int = setting(
        1, "0 silent, 1 a progress bar per epoch, 2 one line per epoch", choices=(0, 1, 2))

    def __post_init__(self):
        super().__post_init__()
        for name in ("global_batch_size", "epochs", "checkpoint_every", "plateau_patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"Setting {name} must be at least 1, got {getattr(self, name)}.")
        if self.warmup_steps < 0:
            raise ValueError(f"Setting warmup_steps must be at least 0, got {self.warmup_steps}.")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError(f"Setting steps_per_epoch must be at least 1, got "
                             f"{self.steps_per_epoch}.")
        if not self.learning_rates or any(rate <= 0 for rate in self.learning_rates):
            raise ValueError(f"learning_rates must be positive, got {self.learning_rates}.")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}.")
        if self.switch_epochs is not None and (
                len(self.switch_epochs) != len(self.learning_rates) - 1
                or list(self.switch_epochs) != sorted(set(self.switch_epochs))
                or self.switch_epochs[0] < 1 or self.switch_epochs[-1] >= self.epochs):
            raise ValueError(
                f"switch_epochs must be {len(self.learning_rates) - 1} increasing epochs in "
                f"[1, epochs), one per switch between learning_rates, got {self.switch_epochs}."
            )
        if self.deterministic and self.seed is None:
            raise ValueError("deterministic=True needs a seed (--seed N).")
        if self.deterministic and self.xla:
            # Keras compiles without XLA while op determinism is on, and says so only in
            # a warning: refuse the pair rather than train something else than asked.
            raise ValueError("deterministic=True turns XLA off (Keras cannot compile "
                             "deterministic kernels): choose --deterministic or --xla.")

    def identity(self):
        """The settings that define what is trained: all but `RESUMABLE`."""
        return {name: value for name, value in self.to_dict().items() if name not in RESUMABLE}
