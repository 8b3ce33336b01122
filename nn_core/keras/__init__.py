"""``nn_core.keras``: Keras's module layout over nn_core, so Keras code runs on this engine
with only its import lines changed.

    from nn_core.keras.layers import Input, Dense      # was: from keras.layers import ...
    from nn_core.keras.models import Model
    from nn_core.keras import regularizers
    from nn_core.keras.datasets import mnist

Everything here is nn_core's own classes under Keras's names: ``layers``, ``models``,
``optimizers``, ``losses``, ``regularizers`` (with Keras's ``l1``, ``l2``, ``l1_l2``),
``callbacks``, ``datasets.mnist`` / ``datasets.fashion_mnist`` and
``utils.set_random_seed``. Two deliberate differences:

* the optimizer name ``"adadelta"`` means ``Adadelta(learning_rate=1.0)``, nn_core's
  documented default and the rate the Keras blog's autoencoders were trained with
  (tf.keras changed its default to 0.001, with which they do not converge);
* a Keras argument nn_core does not have is refused with a ``TypeError`` naming the layer
  and the argument, never ignored (``nn_core.keras.layers``).
"""

from . import callbacks, datasets, layers, losses, models, optimizers, regularizers, utils

__all__ = [
    "callbacks",
    "datasets",
    "layers",
    "losses",
    "models",
    "optimizers",
    "regularizers",
    "utils",
]
