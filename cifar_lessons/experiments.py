"""One reproducible training run, the unit of every experiment that compares settings."""
import numpy as np

from cifar_lessons.models import FullyConnectedNet
from cifar_lessons.solver import Solver


def train_fully_connected(data, hidden_dims, *, num_epochs, batch_size=100, learning_rate=1e-3, seed=0,
                          **model_kwargs):
    """Train a :class:`FullyConnectedNet` with Adam and return its Solver (histories and model).

    ``model_kwargs`` go to the network (``normalization``, ``dropout_keep_ratio``,
    ``weight_scale``, ``reg``, ...). The run depends on ``seed`` alone: it seeds NumPy's global
    generator, from which the network draws its weights and a fresh dropout mask every step,
    and the Solver's minibatches.
    """
    np.random.seed(seed)
    model = FullyConnectedNet(hidden_dims, **model_kwargs)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": learning_rate},
                    batch_size=batch_size, num_epochs=num_epochs, verbose=False, progress=False, seed=seed)
    solver.train()
    return solver
