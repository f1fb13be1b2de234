"""Optimizers (``keras.optimizers``): the rules that turn gradients into variable updates.

Every optimizer takes a learning rate (a float or a schedule from `lamina.optimizers.schedules`)
and the options of `Optimizer` (weight decay, clipping, EMA, gradient accumulation, ...). They are
used through ``model.compile(optimizer=...)``, by string name (``"adam"``, ``"sgd"``, ...), or
directly in a custom training loop:

>>> optimizer = lamina.optimizers.Adam(learning_rate=1e-3)
>>> loss.backward()
>>> optimizer.apply([v.grad for v in model.trainable_weights], model.trainable_weights)
"""

from lamina.optimizers import schedules
from lamina.optimizers.adadelta import Adadelta
from lamina.optimizers.adafactor import Adafactor
from lamina.optimizers.adagrad import Adagrad
from lamina.optimizers.adam import Adam
from lamina.optimizers.adamax import Adamax
from lamina.optimizers.adamw import AdamW
from lamina.optimizers.base_optimizer import Optimizer
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.lamb import Lamb
from lamina.optimizers.lion import Lion
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
from lamina.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from lamina.optimizers.muon import Muon
from lamina.optimizers.nadam import Nadam
from lamina.optimizers.rmsprop import RMSprop
from lamina.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from lamina.optimizers.sgd import SGD
from lamina.saving import object_lookup, serialization_lib
from lamina.optimizers import legacy  # noqa: E402  (after the classes it subclasses)

ALL_OBJECTS = (
    Optimizer,
    Adam,
    SGD,
    RMSprop,
    Adadelta,
    AdamW,
    Adagrad,
    Adamax,
    Adafactor,
    Nadam,
    Ftrl,
    Lion,
    LossScaleOptimizer,
    Muon,
    ScheduleFreeAdamW,
    MultiOptimizer,
    OptimizerMap,
)
# As in Keras, `Lamb` is not resolvable by `get("lamb")`; its files load through its registration.
# Built-in names resolve case-insensitively ("adam", "Adam", "RMSprop", "rmsprop").
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}


serialize = object_lookup.serialize


def deserialize(config, custom_objects=None):
    """Rebuild an optimizer from `serialize` output or a legacy ``{"class_name", "config"}`` dict.

    Args:
        config: The serialized optimizer. Built-in class names match case-insensitively.
        custom_objects: Dict of user classes to resolve names against.

    Returns:
        An `Optimizer` instance.
    """
    config = dict(config)
    if config["class_name"].lower() in ALL_OBJECTS_DICT:
        config["class_name"] = config["class_name"].lower()
    return serialization_lib.deserialize_keras_object(
        config, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects
    )


def get(identifier):
    """Return an optimizer from a name, a config dict, or an instance (returned as is).

    Args:
        identifier: A string such as ``"adam"`` or ``"rmsprop"`` (default arguments), a dict
            from `serialize`, an `Optimizer`, or `None`.

    Returns:
        An `Optimizer`, or `None` for `None`.

    Example:

    >>> lamina.optimizers.get("sgd").get_config()["learning_rate"]
    0.009999999776482582
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        try:
            obj = deserialize({"class_name": identifier, "config": {}})
        except ValueError as e:
            raise ValueError(
                f"Unknown optimizer: {identifier!r}. Valid optimizer names: "
                f"{object_lookup.valid_names(ALL_OBJECTS_DICT)} (or a registered custom optimizer)."
            ) from e
    else:
        obj = identifier
    if isinstance(obj, Optimizer):
        return obj
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
