"""Every hyperparameter of the fast-training recipe in one place (notebook 07 explains each)."""

from dataclasses import dataclass

from cifar_lessons.torch.evaluate import TTA_MODES


@dataclass(frozen=True)
class Recipe:
    """What :func:`~cifar_lessons.torch.fastnet.build_fastnet` builds and how
    :func:`~cifar_lessons.torch.train.train` trains it. Change one field with
    ``dataclasses.replace(recipe, field=value)``: that is how the ablation table is made.
    """

    # the model
    widths: tuple = (16, 32, 64)
    whiten: bool = True
    whitening_images: int = 5000  # enough 2 x 2 patches (millions) for their 12 x 12 covariance
    whitening_eps: float = 5e-4  # added to each eigenvalue: the noisiest directions are amplified less
    batch_norm: bool = True
    batch_norm_momentum: float = 0.4  # fast-moving running statistics: trainings are a few hundred steps
    seed: int = 0
    # the data
    flip: bool = True
    max_shift: int = 2
    # the optimization
    epochs: int = 10
    batch_size: int = 125
    lr: float = 0.2
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    label_smoothing: float = 0.2
    warmup: float = 0.2  # fraction of the steps the learning rate ramps up; then it decays linearly to 0
    decay: bool = True  # False: constant learning rate after the warm-up
    ema: float = 0.9  # per-step decay of the weight average; 0 switches averaging off
    # evaluation
    tta: str = "flip_shift"
    tta_shift: int = 1  # pixels the shifted views of "flip_shift" move
    eval_batch_size: int = 1000
    # speed, on whatever device trains: channels-last layout (notebook 07 measures it), bfloat16
    # autocast and torch.compile (both worth it on a GPU, off for the book's CPU runs)
    channels_last: bool = True
    amp: bool = False
    compile: bool = False

    def __post_init__(self):
        if self.tta not in TTA_MODES:
            raise ValueError(f"tta must be one of {TTA_MODES}, got {self.tta!r}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema is a decay per step in [0, 1) (0 = no averaging), got {self.ema}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup is a fraction of the training steps in [0, 1), got {self.warmup}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be positive, got {self.epochs} and {self.batch_size}")


# The speedrun's recipe for a GPU: the airbench-width network with bfloat16 autocast and
# torch.compile. Its CPU-sized cousin is Recipe(); tests train a few steps of this one on a CPU.
GPU_RECIPE = Recipe(
    widths=(64, 256, 256),
    epochs=10,
    batch_size=500,
    lr=0.4,
    weight_decay=5e-4,
    label_smoothing=0.2,
    ema=0.98,
    amp=True,
    compile=True,
)
