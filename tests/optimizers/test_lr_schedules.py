"""Learning-rate schedules: values against Keras 3 (JAX), configs, serialization, errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina.optimizers import schedules

STEPS = [0, 1, 3, 7, 10, 15, 31, 100]

# (class name, constructor arguments)
CASES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=4, decay_rate=0.9, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[3, 10], values=[1.0, 0.5, 0.1])),
    ("PiecewiseConstantDecay", dict(boundaries=[7], values=[0.2, 0.02])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=10)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=8, end_learning_rate=0.01,
                             power=0.5, cycle=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=2.0, staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=20)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=20, alpha=0.2)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=20, warmup_target=0.3, warmup_steps=10)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=4, t_mul=1.0, m_mul=0.5,
                                 alpha=0.1)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=3, t_mul=1.5, m_mul=0.8)),
]


def _case_id(case):
    return case[0] + "".join(f"-{k}" for k in case[1] if k not in ("initial_learning_rate",))


@pytest.mark.oracle
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_values_match_keras(oracle, case):
    class_name, kwargs = case
    k_schedule = getattr(oracle.optimizers.schedules, class_name)(**kwargs)
    l_schedule = getattr(schedules, class_name)(**kwargs)
    for step in STEPS:
        expected = np.asarray(k_schedule(step))
        for given in (step, torch.tensor(step, dtype=torch.int64)):
            got = l_schedule(given)
            assert isinstance(got, torch.Tensor) and got.dim() == 0
            assert got.dtype == torch.float32
            np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-7, err_msg=f"step {step}")
    # Config: same keys and values as Keras, and a round trip rebuilds the same schedule.
    assert l_schedule.get_config() == k_schedule.get_config()
    rebuilt = type(l_schedule).from_config(l_schedule.get_config())
    assert rebuilt.get_config() == l_schedule.get_config()
    # Serialized form: identical dicts, and Keras's own output deserializes in Lamina.
    assert schedules.serialize(l_schedule) == oracle.optimizers.schedules.serialize(k_schedule)
    restored = schedules.deserialize(oracle.optimizers.schedules.serialize(k_schedule))
    assert type(restored) is type(l_schedule)
    np.testing.assert_allclose(restored(7).numpy(), l_schedule(7).numpy())


def test_schedule_follows_the_step_tensor_device_and_stays_a_tensor():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    step = torch.tensor(2)
    value = schedule(step)
    assert value.device == step.device
    assert float(value) == pytest.approx(0.025)


def test_exposed_under_lamina_optimizers():
    assert lamina.optimizers.schedules.CosineDecay is schedules.CosineDecay
    from lamina.optimizers.schedules import learning_rate_schedule

    assert learning_rate_schedule.LearningRateSchedule is schedules.LearningRateSchedule


def test_legacy_config_and_string_name_deserialize():
    schedule = schedules.deserialize(
        {"class_name": "InverseTimeDecay",
         "config": {"initial_learning_rate": 0.5, "decay_steps": 1, "decay_rate": 1.0}}
    )
    assert float(schedule(1)) == pytest.approx(0.25)
    assert schedules.deserialize("CosineDecay") is schedules.CosineDecay


def test_custom_schedule_needs_call_and_config():
    class Half(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.5

    assert Half()(3) == 0.5
    with pytest.raises(NotImplementedError, match="must override `get_config"):
        Half().get_config()
    with pytest.raises(NotImplementedError, match="must override `__call__"):
        schedules.LearningRateSchedule()(0)


def test_custom_schedule_deserializes_with_custom_objects():
    class Constant(schedules.LearningRateSchedule):
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, step):
            return torch.tensor(self.rate)

        def get_config(self):
            return {"rate": self.rate}

    config = {"class_name": "Constant", "config": {"rate": 0.3}}
    schedule = schedules.deserialize(config, custom_objects={"Constant": Constant})
    assert isinstance(schedule, Constant) and schedule.rate == 0.3


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
        (lambda: schedules.PolynomialDecay(0.1, -1), "decay_steps"),
        (lambda: schedules.InverseTimeDecay(0.1, 0, 0.5), "decay_steps"),
        (lambda: schedules.CosineDecay(0.1, 0), "decay_steps"),
        (lambda: schedules.CosineDecayRestarts(0.1, 0), "first_decay_steps"),
        (lambda: schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5]), "length of boundaries"),
    ],
)
def test_invalid_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()
