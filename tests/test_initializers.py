"""Tests of lamina.initializers against Keras 3 (JAX backend) as the oracle.

Random values cannot match Keras's (different generators), so random initializers are compared by
their statistics on tensors large enough for the comparison to be tight; deterministic ones exactly.
"""

import itertools
import math

import numpy as np
import pytest
import torch

from lamina import initializers
from lamina.backend import config as backend_config
from lamina.backend.random import SeedGenerator, set_random_seed
from lamina.initializers import _compute_fans
from lamina.saving import register_keras_serializable

RANDOM_CLASSES = [
    "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotNormal",
    "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal",
]

CONFIG_CASES = [
    ("Zeros", {}),
    ("Ones", {}),
    ("Constant", {}),
    ("Constant", {"value": 3.5}),
    ("Constant", {"value": [1.0, 2.0]}),
    ("RandomNormal", {}),
    ("RandomNormal", {"mean": 1.0, "stddev": 2.0, "seed": 7}),
    ("RandomUniform", {}),
    ("RandomUniform", {"minval": -1.0, "maxval": 2.0, "seed": 3}),
    ("TruncatedNormal", {}),
    ("TruncatedNormal", {"mean": 0.5, "stddev": 0.1, "seed": 1}),
    ("VarianceScaling", {}),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform", "seed": 4}),
    ("VarianceScaling", {"distribution": "normal", "mode": "fan_out"}),
    ("VarianceScaling", {"distribution": "Untruncated_Normal", "input_axes": [0], "output_axes": [1]}),
    ("Orthogonal", {}),
    ("Orthogonal", {"gain": 2.0, "seed": 9}),
] + [(name, kw) for name in RANDOM_CLASSES[4:10] for kw in ({}, {"seed": 2})]


def _case_id(case):
    return f"{case[0]}-{'-'.join(f'{k}={v}' for k, v in case[1].items())}"


def _np(x):
    return torch.as_tensor(x).detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)


# --------------------------------------------------------------------------- configs and serialization


@pytest.mark.oracle
def test_config_and_serialize_match_oracle(oracle):
    for name, kwargs in CONFIG_CASES:
        case = _case_id((name, kwargs))
        ours = getattr(initializers, name)(**kwargs)
        theirs = getattr(oracle.initializers, name)(**kwargs)
        assert ours.get_config() == theirs.get_config(), case
        mine, ref = initializers.serialize(ours), oracle.initializers.serialize(theirs)
        for key in ("module", "class_name", "config", "registered_name"):
            assert mine[key] == ref[key], case
        # A config written by Keras loads in Lamina and the reverse.
        loaded = initializers.deserialize(ref)
        assert type(loaded) is type(ours) and loaded.get_config() == ours.get_config(), case
        assert oracle.initializers.deserialize(mine).get_config() == theirs.get_config(), case
        clone = ours.clone()
        assert type(clone) is type(ours) and clone.get_config() == ours.get_config(), case


@pytest.mark.oracle
def test_identity_config_keeps_gain_and_loads_in_keras(oracle):
    # Keras's Identity.get_config() drops `gain` (returns {}); Lamina keeps it so a round trip does
    # not lose it. Keras itself accepts the fuller config.
    ours = initializers.Identity(gain=2.0)
    assert ours.get_config() == {"gain": 2.0}
    ref = oracle.initializers.deserialize(initializers.serialize(ours))
    np.testing.assert_array_equal(np.asarray(ref((2, 3))), _np(ours((2, 3))))
    keras_written = oracle.initializers.serialize(oracle.initializers.Identity())
    assert initializers.deserialize(keras_written).get_config() == {"gain": 1.0}


@pytest.mark.oracle
def test_constant_numpy_value_serializes_like_keras(oracle):
    value = np.array([1, 2], dtype="int64")
    ours, theirs = initializers.Constant(value), oracle.initializers.Constant(value)
    assert ours.get_config() == theirs.get_config()
    loaded = initializers.deserialize(oracle.initializers.serialize(theirs))
    np.testing.assert_array_equal(_np(loaded((3, 2))), np.asarray(theirs((3, 2))))
    assert initializers.Constant(np.float32(2.5)).get_config() == {"value": 2.5}


@pytest.mark.oracle
def test_seed_generator_config_matches_oracle(oracle):
    ours = initializers.RandomNormal(seed=SeedGenerator(3))
    theirs = oracle.initializers.RandomNormal(seed=oracle.random.SeedGenerator(3))
    mine, ref = ours.get_config()["seed"], theirs.get_config()["seed"]
    assert (mine["module"], mine["class_name"], mine["config"]["seed"]) == (
        ref["module"], ref["class_name"], ref["config"]["seed"])
    loaded = initializers.RandomNormal.from_config(theirs.get_config())
    assert isinstance(loaded.seed, SeedGenerator) and loaded.seed.seed == 3


def test_user_subclass_keeps_its_own_module_and_round_trips():
    @register_keras_serializable(package="test_initializers")
    class Halves(initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return initializers.Constant(0.5)(shape, dtype=dtype)

    data = initializers.serialize(Halves())
    assert data["registered_name"] == "test_initializers>Halves"
    assert data["module"] != "keras.initializers"
    restored = initializers.get(data)
    assert isinstance(restored, Halves)
    np.testing.assert_array_equal(_np(restored((2,))), [0.5, 0.5])


# --------------------------------------------------------------------------- names and `get`

NAMES = [
    "Zeros", "zeros", "zero", "Ones", "ones", "one", "RandomNormal", "random_normal", "normal",
    "RandomUniform", "random_uniform", "uniform", "TruncatedNormal", "truncated_normal",
    "VarianceScaling", "variance_scaling", "GlorotNormal", "glorot_normal", "GlorotUniform",
    "glorot_uniform", "HeNormal", "he_normal", "HeUniform", "he_uniform", "LecunNormal",
    "lecun_normal", "LecunUniform", "lecun_uniform", "Identity", "identity", "IdentityInitializer",
    "Orthogonal", "orthogonal", "OrthogonalInitializer", "Initializer", "initializer",
]


@pytest.mark.oracle
def test_string_names_resolve_like_oracle(oracle):
    for name in NAMES:
        ours, theirs = initializers.get(name), oracle.initializers.get(name)
        assert type(ours).__name__ == type(theirs).__name__, name
        assert type(initializers.deserialize(name)) is type(ours)
    # Keras fails on get("constant") (its Constant.from_config needs `value`); Lamina uses the default.
    assert initializers.get("constant").get_config() == {"value": 0.0}


@pytest.mark.oracle
def test_public_names_mirror_oracle(oracle):
    public = {n for n in dir(oracle.initializers) if not n.startswith("_")}
    missing = public - set(dir(initializers))
    assert not missing
    assert initializers.glorot_uniform is initializers.GlorotUniform
    assert initializers.zeros is initializers.Zeros
    assert initializers.OrthogonalInitializer is initializers.Orthogonal
    assert initializers.IdentityInitializer is initializers.Identity


def test_get_identifiers():
    assert initializers.get(None) is None
    inst = initializers.HeNormal(seed=1)
    assert initializers.get(inst) is inst

    def fn(shape, dtype=None):
        return torch.zeros(shape)

    assert initializers.get(fn) is fn
    assert isinstance(initializers.get(initializers.Zeros), initializers.Zeros)
    legacy = initializers.get({"class_name": "RandomNormal", "config": {"stddev": 2.0, "seed": 1}})
    assert legacy.get_config() == {"seed": 1, "mean": 0.0, "stddev": 2.0}
    assert isinstance(initializers.get({"class_name": "zeros", "config": {}}), initializers.Zeros)
    for bad in ("foo", 3, {"class_name": "Foo", "config": {}}):
        with pytest.raises(ValueError, match="Could not interpret initializer identifier"):
            initializers.get(bad)


def test_base_initializer_requires_call():
    with pytest.raises(NotImplementedError, match="__call__"):
        initializers.Initializer()((2,))
    assert initializers.Initializer.from_config({}).get_config() == {}


# --------------------------------------------------------------------------- deterministic initializers


@pytest.mark.oracle
def test_constant_family_matches_oracle_exactly(oracle):
    cases = [("Zeros", {}, (2, 3)), ("Ones", {}, (2, 3)), ("Ones", {}, ()),
             ("Constant", {"value": 3}, (2, 2)), ("Constant", {"value": [1, 2]}, (3, 2))]
    for (name, kwargs, shape), dtype in itertools.product(cases, ["float32", "int32"]):
        ours = getattr(initializers, name)(**kwargs)(shape, dtype=dtype)
        theirs = getattr(oracle.initializers, name)(**kwargs)(shape, dtype=dtype)
        assert ours.dtype == getattr(torch, dtype) and tuple(ours.shape) == shape
        np.testing.assert_array_equal(_np(ours), np.asarray(theirs))


def test_constant_errors():
    with pytest.raises(ValueError, match="cannot be broadcast"):
        initializers.Constant([1.0, 2.0])((3,))
    with pytest.raises(ValueError, match="`value`"):
        initializers.Constant("a")
    out = initializers.Constant(torch.tensor([1.0, 2.0]))((2, 2))
    np.testing.assert_array_equal(_np(out), [[1, 2], [1, 2]])


@pytest.mark.oracle
def test_identity_matches_oracle(oracle):
    for shape in [(3, 3), (2, 4), (4, 2)]:
        ours = initializers.Identity(gain=2.0)(shape)
        theirs = oracle.initializers.Identity(gain=2.0)(shape)
        np.testing.assert_array_equal(_np(ours), np.asarray(theirs))
        assert initializers.Identity()(shape, dtype="int32").dtype == torch.int32


@pytest.mark.parametrize("shape", [(3,), (2, 2, 2)])
def test_identity_rejects_non_2d(shape):
    with pytest.raises(ValueError, match="2D matrices.*rank"):
        initializers.Identity()(shape)


# --------------------------------------------------------------------------- random initializers


def _stats(x):
    x = _np(x)
    return x.mean(), x.std(), x.min(), x.max()


STAT_CASES = [
    # Few distinct (distribution, shape) pairs: each costs the oracle a JAX compilation.
    ("RandomNormal", {"mean": 0.5, "stddev": 2.0}, (200, 200)),
    ("RandomUniform", {"minval": -1.0, "maxval": 3.0}, (200, 200)),
    ("TruncatedNormal", {"mean": 1.0, "stddev": 0.5}, (200, 200)),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "untruncated_normal"}, (200, 200)),
    ("VarianceScaling", {"scale": 0.5, "mode": "fan_avg", "distribution": "truncated_normal"}, (100, 400)),
    ("VarianceScaling", {"mode": "fan_out", "distribution": "uniform"}, (3, 3, 32, 64)),
    ("VarianceScaling", {"distribution": "uniform", "input_axes": [2], "output_axes": [3]},
     (3, 3, 32, 64)),
    ("GlorotNormal", {}, (100, 400)),
    ("GlorotUniform", {}, (3, 3, 32, 64)),
    ("HeNormal", {}, (100, 400)),
    ("HeUniform", {}, (200, 200)),
    ("LecunNormal", {}, (200, 200)),
    ("LecunUniform", {}, (3, 3, 32, 64)),
]


@pytest.mark.oracle
def test_statistics_match_oracle(oracle):
    for name, kwargs, shape in STAT_CASES:
        _check_statistics(oracle, name, kwargs, shape)


def _check_statistics(oracle, name, kwargs, shape):
    ours = getattr(initializers, name)(seed=11, **kwargs)(shape)
    theirs = getattr(oracle.initializers, name)(seed=11, **kwargs)(shape)
    assert tuple(ours.shape) == shape and ours.dtype == torch.float32
    assert ours.device == backend_config.get_device()
    m1, s1, lo1, hi1 = _stats(ours)
    m2, s2, lo2, hi2 = _stats(theirs)
    assert abs(m1 - m2) < 0.05 * s2
    assert s1 == pytest.approx(s2, rel=0.03)
    # Bounded distributions (uniform, truncated normal) must reach the same edges as Keras's.
    if name != "RandomNormal" and kwargs.get("distribution") != "untruncated_normal":
        assert lo1 == pytest.approx(lo2, abs=0.03 * s2), name
        assert hi1 == pytest.approx(hi2, abs=0.03 * s2), name


def test_truncated_normal_bounds_and_stddev():
    x = _np(initializers.TruncatedNormal(mean=1.0, stddev=0.5, seed=3)((200, 200)))
    assert x.min() >= 1.0 - 2 * 0.5 and x.max() <= 1.0 + 2 * 0.5
    assert x.min() < 1.0 - 1.99 * 0.5 and x.max() > 1.0 + 1.99 * 0.5
    # A normal truncated at 2 sigma has 0.8796 of the untruncated standard deviation.
    assert x.std() == pytest.approx(0.5 * 0.87962566, rel=0.02)
    # VarianceScaling corrects for that so its samples have exactly sqrt(scale / fan_in).
    y = _np(initializers.VarianceScaling(scale=2.0, seed=3)((100, 400)))
    assert y.std() == pytest.approx(math.sqrt(2.0 / 100), rel=0.02)
    assert np.abs(y).max() <= 2 * math.sqrt(2.0 / 100) / 0.87962566 * (1 + 1e-6)


@pytest.mark.parametrize(
    "shape, axes, expected",
    [
        ((), None, (1, 1)),
        ((7,), None, (7, 7)),
        ((5, 7), None, (5, 7)),
        ((3, 5, 7), None, (15, 21)),
        ((2, 3, 5, 7), None, (30, 42)),
        ((3, 5, 7), ([0, 1], [2]), (15, 7)),
        ((5, 7), ([1], [0]), (7, 5)),
        ((3, 5, 7), ([0], None), (15, 21)),
        ((3, 5, 7), ([], []), (1, 1)),
    ],
)
def test_compute_fans(shape, axes, expected):
    input_axes, output_axes = axes or (None, None)
    assert _compute_fans(shape, input_axes, output_axes) == expected


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
def test_variance_scaling_uniform_limit_uses_fans(mode):
    shape = (2, 3, 40, 50)
    fan_in, fan_out = 6 * 40, 6 * 50
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    limit = math.sqrt(3 * 1.5 / n)
    x = np.abs(_np(initializers.VarianceScaling(1.5, mode, "uniform", seed=0)(shape)))
    assert limit * 0.995 < x.max() <= limit
    # Tiny shapes never divide by a fan below 1.
    tiny = np.abs(_np(initializers.VarianceScaling(1.0, mode, "uniform", seed=0)((0, 3))))
    assert tiny.size == 0


def _assert_orthonormal(w, gain):
    w = _np(w).reshape(-1, w.shape[-1])
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(gram.shape[0]), atol=1e-5)


@pytest.mark.parametrize("shape", [(6, 3), (4, 4), (3, 6), (3, 3, 2, 4), (2, 2, 3, 8)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_orthogonal_is_orthonormal(shape, dtype):
    out = initializers.Orthogonal(gain=1.5, seed=5)(shape, dtype=dtype)
    assert tuple(out.shape) == shape and out.dtype == getattr(torch, dtype)
    _assert_orthonormal(out, 1.5)


@pytest.mark.oracle
def test_orthogonal_property_holds_for_oracle_too(oracle):
    # The property tested above is the one Keras's result has, for tall (conv) and wide shapes.
    for shape in [(3, 3, 2, 4), (3, 6)]:
        _assert_orthonormal(np.asarray(oracle.initializers.Orthogonal(gain=1.5, seed=5)(shape)), 1.5)


@pytest.mark.oracle
def test_orthogonal_rejects_low_rank(oracle):
    for shape in [(3,), ()]:
        with pytest.raises(ValueError):
            oracle.initializers.Orthogonal()(shape)
        with pytest.raises(ValueError, match="rank at least 2"):
            initializers.Orthogonal()(shape)


# --------------------------------------------------------------------------- seeds


def _check_seed_semantics(cls, to_np):
    shape = (4, 4)
    for seed in (None, 5):
        init = cls(seed=seed)
        # Keras 3: a seeded or unseeded instance returns the same values on every call.
        np.testing.assert_array_equal(to_np(init(shape)), to_np(init(shape)))
    np.testing.assert_array_equal(to_np(cls(seed=5)(shape)), to_np(cls(seed=5)(shape)))
    assert not np.allclose(to_np(cls(seed=5)(shape)), to_np(cls(seed=6)(shape)))
    assert not np.allclose(to_np(cls()(shape)), to_np(cls()(shape)))


@pytest.mark.parametrize("name", RANDOM_CLASSES)
def test_seed_semantics(name):
    _check_seed_semantics(getattr(initializers, name), _np)


@pytest.mark.oracle
def test_seed_semantics_are_the_oracle_s(oracle):
    for name in ("RandomNormal", "GlorotUniform", "Orthogonal"):
        _check_seed_semantics(getattr(oracle.initializers, name), np.asarray)


def test_seed_generator_gives_new_values_per_call_and_set_random_seed_reproduces():
    init = initializers.GlorotUniform(seed=SeedGenerator(3))
    first, second = _np(init((5, 5))), _np(init((5, 5)))
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(first, _np(initializers.GlorotUniform(seed=SeedGenerator(3))((5, 5))))

    set_random_seed(123)
    a = _np(initializers.RandomNormal()((5, 5)))
    set_random_seed(123)
    b = _np(initializers.RandomNormal()((5, 5)))
    np.testing.assert_array_equal(a, b)

    seeded = initializers.Orthogonal(seed=4)
    np.testing.assert_array_equal(_np(seeded((3, 3))), _np(seeded.clone()((3, 3))))
    unseeded = initializers.HeUniform()
    assert unseeded.get_config()["seed"] is None
    assert not np.allclose(_np(unseeded((3, 3))), _np(unseeded.clone()((3, 3))))


@pytest.mark.parametrize("seed", ["a", 1.5])
def test_invalid_seed(seed):
    with pytest.raises(ValueError, match="`seed`"):
        initializers.RandomUniform(seed=seed)


# --------------------------------------------------------------------------- dtypes and devices


@pytest.mark.parametrize("dtype", ["float64", torch.float64, "float16", torch.bfloat16])
def test_random_dtypes(dtype):
    for name in RANDOM_CLASSES:
        out = getattr(initializers, name)(seed=1)((8, 8), dtype=dtype)
        expected = dtype if isinstance(dtype, torch.dtype) else getattr(torch, dtype)
        assert out.dtype == expected and out.device == backend_config.get_device()


@pytest.mark.oracle
def test_random_rejects_integer_dtype_like_oracle(oracle):
    for name in RANDOM_CLASSES:
        with pytest.raises(ValueError):
            getattr(oracle.initializers, name)(seed=1)((2, 2), dtype="int32")
        with pytest.raises(ValueError, match="floating-point"):
            getattr(initializers, name)(seed=1)((2, 2), dtype="int32")


def test_default_dtype_follows_floatx():
    previous = backend_config.floatx()
    backend_config.set_floatx("float64")
    try:
        assert initializers.GlorotUniform(seed=1)((2, 2)).dtype == torch.float64
        assert initializers.Zeros()((2,)).dtype == torch.float64
    finally:
        backend_config.set_floatx(previous)


def test_unknown_dimension_rejected():
    for init in (initializers.Zeros(), initializers.GlorotUniform(), initializers.Orthogonal()):
        with pytest.raises(ValueError, match="unknown dimension"):
            init((None, 3))


# --------------------------------------------------------------------------- argument validation


@pytest.mark.oracle
def test_variance_scaling_validation_like_oracle(oracle):
    bad = [({"scale": 0.0}, "`scale`"), ({"scale": -1.0}, "`scale`"),
           ({"mode": "foo"}, "`mode`.*fan_in.*fan_out.*fan_avg"),
           ({"mode": "FAN_IN"}, "`mode`"),
           ({"distribution": "foo"}, "`distribution`.*truncated_normal.*untruncated_normal.*uniform")]
    for kwargs, pattern in bad:
        with pytest.raises(ValueError):
            oracle.initializers.VarianceScaling(**kwargs)
        with pytest.raises(ValueError, match=pattern):
            initializers.VarianceScaling(**kwargs)
    for alias in ("normal", "Uniform", "TRUNCATED_NORMAL", "untruncated_normal"):
        assert (initializers.VarianceScaling(distribution=alias).distribution
                == oracle.initializers.VarianceScaling(distribution=alias).distribution)


@pytest.mark.parametrize("name", ["RandomNormal", "TruncatedNormal"])
@pytest.mark.parametrize("stddev", [0.0, -1.0])
def test_stddev_must_be_positive(name, stddev):
    with pytest.raises(ValueError, match="`stddev`.*positive"):
        getattr(initializers, name)(stddev=stddev)
