"""``clone_model``: a new model with the same architecture and new layer objects.

Transfer learning either *shares* a pre-trained model's layers (``Sequential([encoder,
head])`` reuses the encoder's arrays, so training the new model changes the old one) or
*copies* them. ``clone_model`` is the copy: it rebuilds the architecture from
``get_config()`` into new layers, as ``keras.models.clone_model`` does, with freshly
initialised weights. To copy the trained values too:

    copy = nn.clone_model(encoder)
    copy.set_weights(encoder.get_weights())   # same values, separate arrays
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .functional import Model
    from .sequential import Sequential


def clone_model(model: Sequential | Model, seed: int | None = None) -> Sequential | Model:
    """A built copy of ``model`` (``Sequential`` or ``Model``) with new, re-initialised layers.

    ``seed`` seeds the new weights (default: the model's own seed, so a seeded model's
    clone starts from the weights the original started from). Frozen flags
    (``trainable``) are copied; the compile settings are not (compile the clone).
    """
    from .functional import Model
    from .model_files import apply_frozen_paths, frozen_paths
    from .sequential import Sequential

    if not isinstance(model, (Sequential, Model)):
        raise ValueError(f"clone_model expects a Sequential or a Model, got {type(model).__name__}")
    model._require_built("clone_model")
    config = model.get_config()
    if seed is not None:
        config = {**config, "seed": seed}
    clone: Sequential | Model
    if isinstance(model, Sequential):
        clone = Sequential.from_config(config)
        clone.build(model.input_shape, model.dtype)
    else:
        clone = Model.from_config(config)
    apply_frozen_paths(clone, frozen_paths(model))
    return clone
