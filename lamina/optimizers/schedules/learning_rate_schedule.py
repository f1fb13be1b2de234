"""Learning-rate schedules: functions of the optimizer step that give the learning rate.

A schedule is called with the step (an integer tensor such as ``optimizer.iterations``, or a Python
number) and returns a 0-d tensor. The built-in schedules compute with torch operations on the step's
device, so an optimizer can evaluate them every step without copying anything to the host.

Example:

>>> schedule = lamina.optimizers.schedules.ExponentialDecay(
...     initial_learning_rate=0.1, decay_steps=1000, decay_rate=0.9)
>>> optimizer = lamina.optimizers.SGD(learning_rate=schedule)
"""

import math

import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.saving import object_registration, serialization_lib

_MODULE = "keras.optimizers.schedules"


def _float_dtype(value):
    """The dtype a schedule computes in: the initial rate's own float dtype, else ``floatx()``."""
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.dtype
    return to_torch_dtype(config.floatx())


def _as_tensor(value, dtype, device):
    if isinstance(value, torch.Tensor):
        return value.to(device=device, dtype=dtype)
    return torch.tensor(value, dtype=dtype, device=device)


def _step_device(step):
    return step.device if isinstance(step, torch.Tensor) else config.get_device()


def _check_positive(name, value):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


@object_registration.register_builtin(_MODULE)
class LearningRateSchedule:
    """Base class of learning-rate schedules.

    Subclasses implement ``__call__(step)``, returning the learning rate for an integer step, and
    ``get_config()`` to be serializable; the default ``from_config`` passes the config to the
    constructor. Pass an instance as the ``learning_rate`` of any optimizer: the optimizer calls it
    with its ``iterations`` before each update.

    Example:

    >>> class InverseStep(lamina.optimizers.schedules.LearningRateSchedule):
    ...     def __init__(self, initial_learning_rate):
    ...         self.initial_learning_rate = initial_learning_rate
    ...     def __call__(self, step):
    ...         return self.initial_learning_rate / (step + 1)
    ...     def get_config(self):
    ...         return {"initial_learning_rate": self.initial_learning_rate}
    >>> optimizer = lamina.optimizers.SGD(learning_rate=InverseStep(0.1))
    """

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in "
            "order to be serializable."
        )

    @classmethod
    def from_config(cls, config):
        """Create a schedule from the dict returned by ``get_config()``."""
        return cls(**config)


@object_registration.register_builtin(_MODULE)
class ExponentialDecay(LearningRateSchedule):
    """Exponential decay: ``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is floored, so the rate drops by ``decay_rate`` once every
    ``decay_steps`` steps instead of continuously.

    Args:
        initial_learning_rate: Float, the rate at step 0.
        decay_steps: Positive number, the steps over which the rate is multiplied by `decay_rate`.
        decay_rate: Float, the multiplier per `decay_steps`.
        staircase: Whether to decay in discrete jumps.
        name: Name of the schedule (kept in the config).

    Returns:
        Called with a step, a 0-d tensor holding the learning rate.

    Example:

    >>> schedule = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.96, staircase=True)
    >>> float(schedule(250))  # 0.1 * 0.96 ** 2
    0.09216...
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        dtype, device = _float_dtype(self.initial_learning_rate), _step_device(step)
        p = _as_tensor(step, dtype, device) / _as_tensor(self.decay_steps, dtype, device)
        if self.staircase:
            p = torch.floor(p)
        rate = _as_tensor(self.decay_rate, dtype, device)
        return _as_tensor(self.initial_learning_rate, dtype, device) * torch.pow(rate, p)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@object_registration.register_builtin(_MODULE)
class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate per interval of steps.

    The rate is ``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i - 1] < step <= boundaries[i]``, and ``values[-1]`` after the last boundary.

    Args:
        boundaries: Strictly increasing list of step numbers.
        values: List with one more element than `boundaries`: the rate of each interval.
        name: Name of the schedule (kept in the config).

    Returns:
        Called with a step, a 0-d tensor holding the learning rate (dtype of ``values[0]``).

    Example:

    >>> schedule = PiecewiseConstantDecay(boundaries=[100, 200], values=[1.0, 0.5, 0.1])
    >>> float(schedule(150))
    0.5
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. Received: "
                f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of "
                f"length {len(values)}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        device = _step_device(step)
        step = step if isinstance(step, torch.Tensor) else torch.as_tensor(step, device=device)
        if not step.is_floating_point() and step.dtype != torch.bool:
            # Boundaries compare in the step's own dtype, as Keras casts them to it.
            boundaries = [int(b) for b in self.boundaries]
        else:
            boundaries = list(self.boundaries)
        first = self.values[0]
        if isinstance(first, torch.Tensor):
            dtype = first.dtype
        elif isinstance(first, float):
            dtype = to_torch_dtype(config.floatx())
        else:
            dtype = torch.int32
        result = (step <= boundaries[0]).to(dtype) * _as_tensor(self.values[0], dtype, device)
        last = _as_tensor(self.values[-1], dtype, device)
        result = result + (step > boundaries[-1]).to(dtype) * last
        for low, high, value in zip(boundaries[:-1], boundaries[1:], self.values[1:-1]):
            in_range = ((step > low) & (step <= high)).to(dtype)
            result = result + in_range * _as_tensor(value, dtype, device)
        return result

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@object_registration.register_builtin(_MODULE)
class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from `initial_learning_rate` to `end_learning_rate` over `decay_steps`.

    ``rate = (initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end``.
    With ``cycle=True`` the horizon is instead the first multiple of `decay_steps` at or above the
    step, so the rate jumps back up and decays again.

    Args:
        initial_learning_rate: Float, the rate at step 0.
        decay_steps: Positive number of steps to reach `end_learning_rate`.
        end_learning_rate: Float, the final rate.
        power: Float, the exponent of the polynomial (1.0 is linear).
        cycle: Whether to restart the decay after `decay_steps`.
        name: Name of the schedule (kept in the config).

    Returns:
        Called with a step, a 0-d tensor holding the learning rate.

    Example:

    >>> schedule = PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.01)
    >>> float(schedule(50))
    0.055
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        dtype, device = _float_dtype(self.initial_learning_rate), _step_device(step)
        initial = _as_tensor(self.initial_learning_rate, dtype, device)
        end = _as_tensor(self.end_learning_rate, dtype, device)
        step = _as_tensor(step, dtype, device)
        decay_steps = _as_tensor(self.decay_steps, dtype, device)
        if self.cycle:
            # Step 0 uses the first horizon; later steps the first multiple of decay_steps >= step.
            multiplier = torch.where(
                step == 0, torch.ones_like(step), torch.ceil(step / decay_steps)
            )
            decay_steps = decay_steps * multiplier
        else:
            step = torch.minimum(step, decay_steps)
        p = step / decay_steps
        return (initial - end) * torch.pow(1 - p, _as_tensor(self.power, dtype, device)) + end

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


@object_registration.register_builtin(_MODULE)
class InverseTimeDecay(LearningRateSchedule):
    """Inverse time decay: ``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    With ``staircase=True``, ``step / decay_steps`` is floored.

    Args:
        initial_learning_rate: Float, the rate at step 0.
        decay_steps: Positive number, the step unit of the decay.
        decay_rate: Float, how fast the rate falls.
        staircase: Whether to decay in discrete jumps.
        name: Name of the schedule (kept in the config).

    Returns:
        Called with a step, a 0-d tensor holding the learning rate.

    Example:

    >>> schedule = InverseTimeDecay(0.1, decay_steps=1.0, decay_rate=0.5)
    >>> float(schedule(2))  # 0.1 / (1 + 0.5 * 2)
    0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        dtype, device = _float_dtype(self.initial_learning_rate), _step_device(step)
        p = _as_tensor(step, dtype, device) / _as_tensor(self.decay_steps, dtype, device)
        if self.staircase:
            p = torch.floor(p)
        denominator = 1 + _as_tensor(self.decay_rate, dtype, device) * p
        return _as_tensor(self.initial_learning_rate, dtype, device) / denominator

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@object_registration.register_builtin(_MODULE)
class CosineDecay(LearningRateSchedule):
    """Cosine decay, optionally after a linear warmup (SGDR without restarts).

    Without `warmup_target`, the rate goes from `initial_learning_rate` to
    ``initial_learning_rate * alpha`` along half a cosine over `decay_steps`, then stays there.
    With `warmup_target`, it first rises linearly from `initial_learning_rate` to `warmup_target`
    over `warmup_steps`, then decays from `warmup_target` to ``warmup_target * alpha`` over
    `decay_steps`.

    Args:
        initial_learning_rate: Float, the rate at step 0.
        decay_steps: Positive number of steps of the cosine decay.
        alpha: Float, the final rate as a fraction of the rate the decay starts from.
        name: Name of the schedule (kept in the config).
        warmup_target: Float or `None` (no warmup), the rate reached at the end of the warmup.
        warmup_steps: Number of warmup steps.

    Returns:
        Called with a step, a 0-d tensor holding the learning rate.

    Example:

    >>> schedule = CosineDecay(0.0, decay_steps=1000, warmup_target=0.1, warmup_steps=100)
    >>> float(schedule(50))
    0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decayed(self, step, decay_steps, start_rate):
        cosine = 0.5 * (1.0 + torch.cos(math.pi * (step / decay_steps)))
        return start_rate * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        dtype, device = _float_dtype(self.initial_learning_rate), _step_device(step)
        initial = _as_tensor(self.initial_learning_rate, dtype, device)
        decay_steps = _as_tensor(self.decay_steps, dtype, device)
        step = _as_tensor(step, dtype, device)
        if self.warmup_target is None:
            return self._decayed(torch.minimum(step, decay_steps), decay_steps, initial)
        target = _as_tensor(self.warmup_target, dtype, device)
        warmup_steps = _as_tensor(self.warmup_steps, dtype, device)
        step = torch.minimum(step, decay_steps + warmup_steps)
        # Both branches are computed so the choice stays on the device (no host sync).
        warmup = (target - initial) * (step / warmup_steps) + initial
        decay = self._decayed(step - warmup_steps, decay_steps, target)
        return torch.where(step < warmup_steps, warmup, decay)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


@object_registration.register_builtin(_MODULE)
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR).

    The rate multiplier decays from 1 to `alpha` along half a cosine over `first_decay_steps`,
    then restarts; each period lasts `t_mul` times longer than the previous one and starts from
    `m_mul` times the previous starting rate.

    Args:
        initial_learning_rate: Float, the rate at step 0.
        first_decay_steps: Positive number of steps of the first period.
        t_mul: Float, the growth factor of the period length.
        m_mul: Float, the factor applied to the starting rate at each restart.
        alpha: Float, the minimum rate as a fraction of `initial_learning_rate`.
        name: Name of the schedule (kept in the config).

    Returns:
        Called with a step, a 0-d tensor holding the learning rate.

    Example:

    >>> schedule = CosineDecayRestarts(0.1, first_decay_steps=100)
    >>> float(schedule(100))  # first restart
    0.1
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        _check_positive("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        dtype, device = _float_dtype(self.initial_learning_rate), _step_device(step)
        initial = _as_tensor(self.initial_learning_rate, dtype, device)
        t_mul = _as_tensor(self._t_mul, dtype, device)
        first_decay_steps = _as_tensor(self.first_decay_steps, dtype, device)
        fraction = _as_tensor(step, dtype, device) / first_decay_steps
        if float(self._t_mul) == 1.0:
            restart = torch.floor(fraction)
            fraction = fraction - restart
        else:
            # Periods grow geometrically: find the period index from the closed-form sum.
            restart = torch.floor(torch.log(1.0 - fraction * (1.0 - t_mul)) / torch.log(t_mul))
            elapsed = (1.0 - torch.pow(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - elapsed) / torch.pow(t_mul, restart)
        m_factor = torch.pow(_as_tensor(self._m_mul, dtype, device), restart)
        cosine = 0.5 * m_factor * (1.0 + torch.cos(math.pi * fraction))
        alpha = _as_tensor(self.alpha, dtype, device)
        return initial * ((1 - alpha) * cosine + alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


ALL_OBJECTS_DICT = {
    cls.__name__: cls
    for cls in (
        LearningRateSchedule,
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(learning_rate_schedule):
    """Return the Keras 3 config dict of a schedule (``{"module", "class_name", "config"}``)."""
    return serialization_lib.serialize_keras_object(learning_rate_schedule)


def deserialize(config, custom_objects=None):
    """Rebuild a schedule from `serialize` output, a legacy config dict, or a class name.

    Args:
        config: The serialized schedule.
        custom_objects: Dict of user schedule classes to resolve names against.

    Returns:
        A `LearningRateSchedule` instance.
    """
    return serialization_lib.deserialize_keras_object(
        config, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects
    )
