"""Tests for lamina.constraints: values against Keras 3, RadialConstraint's defining properties,
configs, names and errors."""

import math

import numpy as np
import pytest
import torch

from lamina import backend, constraints
from lamina.saving import object_registration, serialization_lib

RTOL, ATOL = 1e-5, 1e-6

# (class name, constructor kwargs, rank of the weights it is applied to) checked against the oracle.
CASES = [
    ("MaxNorm", {}, 2),
    ("MaxNorm", {"max_value": 1.5, "axis": 1}, 2),
    ("MaxNorm", {"max_value": 0.7, "axis": [0, 1, 2]}, 4),
    ("MaxNorm", {"axis": -1}, 4),
    ("UnitNorm", {}, 2),
    ("UnitNorm", {"axis": 1}, 2),
    ("UnitNorm", {"axis": (0, 1, 2)}, 4),
    ("MinMaxNorm", {}, 2),
    ("MinMaxNorm", {"min_value": 0.8, "max_value": 1.2, "rate": 0.7, "axis": 1}, 2),
    ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.0, "axis": [0, 1, 2]}, 4),
    ("NonNeg", {}, 2),
    ("NonNeg", {}, 4),
]


def _weights(rng, rank):
    """Random weights whose vectors have norms below, inside and above the tested bounds."""
    shape = (6, 5) if rank == 2 else (3, 3, 2, 4)
    w = rng.normal(size=shape).astype("float32")
    scale = np.array([0.01, 0.3, 1.0, 3.0, 10.0][: shape[-1]] + [0.5] * max(0, shape[-1] - 5), "float32")
    return w * scale


def _pair(oracle, name, kwargs):
    return getattr(constraints, name)(**kwargs), getattr(oracle.constraints, name)(**kwargs)


# Oracle tests loop over CASES inside one test: each use of the `oracle` fixture resets the Keras
# session, which costs more than the comparisons themselves.


@pytest.mark.oracle
def test_values_match_oracle(oracle, rng):
    for name, kwargs, rank in CASES:
        ours, theirs = _pair(oracle, name, kwargs)
        w = _weights(rng, rank)
        out = ours(w)
        assert isinstance(out, torch.Tensor) and out.shape == w.shape and out.dtype == torch.float32
        np.testing.assert_allclose(
            out.numpy(), np.asarray(theirs(w)), rtol=RTOL, atol=ATOL, err_msg=f"{name}({kwargs})"
        )


@pytest.mark.oracle
def test_epsilon_placement_on_tiny_and_zero_vectors_matches_oracle(oracle):
    # Norms of 0, 1e-9 and 5e-8 (all near epsilon() = 1e-7) expose where epsilon is added.
    w = np.array([[0.0, 1e-9, 3e-8, 3.0], [0.0, 0.0, 4e-8, 4.0]], "float32")
    for name, kwargs in [
        ("MaxNorm", {"max_value": 2.0}),
        ("UnitNorm", {}),
        ("MinMaxNorm", {"min_value": 1.0, "max_value": 2.0}),
        ("MinMaxNorm", {"min_value": 1.0, "max_value": 2.0, "rate": 0.5}),
    ]:
        ours, theirs = _pair(oracle, name, kwargs)
        np.testing.assert_allclose(
            ours(w).numpy(), np.asarray(theirs(w)), rtol=RTOL, atol=1e-9, err_msg=f"{name}({kwargs})"
        )


@pytest.mark.oracle
def test_epsilon_is_read_at_call_time(oracle):
    w = np.array([[3e-6, 1.0], [4e-6, 1.0]], "float32")
    previous = backend.epsilon(), oracle.config.epsilon()
    try:
        backend.set_epsilon(1e-5)
        oracle.config.set_epsilon(1e-5)
        ours = constraints.UnitNorm()(w).numpy()
        theirs = np.asarray(oracle.constraints.UnitNorm()(w))
    finally:
        backend.set_epsilon(previous[0])
        oracle.config.set_epsilon(previous[1])
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)
    assert ours[0, 0] == pytest.approx(3e-6 / (1e-5 + 5e-6), rel=1e-5)


def test_max_norm_keeps_small_vectors_and_caps_large_ones():
    w = torch.tensor([[0.0, 1.0, 3.0, 3.0], [0.0, 0.0, 0.0, 3.0], [0.0, 0.0, 0.0, 3.0]])
    out = constraints.max_norm(2.0)(w)
    capped = 2 / math.sqrt(3)
    expected = torch.tensor([[0.0, 1.0, 2.0, capped], [0.0, 0.0, 0.0, capped], [0.0, 0.0, 0.0, capped]])
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


def test_norms_after_projection():
    w = torch.randn(20, 7, generator=torch.Generator().manual_seed(1)) * 5
    assert torch.all(torch.linalg.vector_norm(constraints.MaxNorm(1.5)(w), dim=0) <= 1.5 + 1e-5)
    torch.testing.assert_close(torch.linalg.vector_norm(constraints.UnitNorm()(w), dim=0), torch.ones(7))
    norms = torch.linalg.vector_norm(constraints.MinMaxNorm(2.0, 3.0)(w * 0.01), dim=0)
    assert torch.all((norms >= 2.0 - 1e-5) & (norms <= 3.0 + 1e-5))


@pytest.mark.parametrize("make", [list, np.asarray, torch.tensor])
def test_accepts_lists_arrays_and_tensors(make):
    out = constraints.UnitNorm(axis=1)(make([[3.0, 4.0]]))
    assert isinstance(out, torch.Tensor)
    torch.testing.assert_close(out, torch.tensor([[0.6, 0.8]]), check_dtype=False)


def test_dtypes():
    w64 = np.array([[3.0, -4.0]])
    assert constraints.MaxNorm(1.0, axis=1)(w64).dtype == torch.float64
    ints = torch.tensor([[1, -2], [3, 4]])
    non_neg = constraints.NonNeg()(ints)
    assert non_neg.dtype == torch.int64 and non_neg.tolist() == [[1, 0], [3, 4]]
    # Rescaling integer weights would truncate, so they are promoted to floatx().
    assert constraints.MaxNorm(2.0)(ints).dtype == torch.float32


def test_non_neg_keeps_nans_visible():
    out = constraints.NonNeg()(torch.tensor([float("nan"), -1.0, 2.0]))
    assert math.isnan(out[0].item()) and out[1:].tolist() == [0.0, 2.0]


def test_works_on_a_parameter_under_no_grad():
    param = torch.nn.Parameter(torch.randn(4, 3) * 10)
    with torch.no_grad():
        param.copy_(constraints.MaxNorm(1.0)(param))
    assert torch.all(torch.linalg.vector_norm(param, dim=0) <= 1.0 + 1e-5)
    assert param.requires_grad


# ---------------------------------------------------------------------------------- RadialConstraint


def _ring_index(size):
    """Ring of every cell of a size x size grid, 0 at the centre, counted from the border inwards."""
    pos = np.arange(size)
    from_border = np.minimum(pos, size - 1 - pos)
    depth = np.minimum(from_border[:, None], from_border[None, :])
    return (math.ceil(size / 2) - 1) - depth


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7])
def test_radial_constraint_is_radially_symmetric_and_idempotent(rng, size):
    w = rng.normal(size=(size, size, 2, 3)).astype("float32")
    out = constraints.RadialConstraint()(w)
    assert isinstance(out, torch.Tensor) and out.shape == w.shape and out.dtype == torch.float32
    result = out.numpy()
    rings = _ring_index(size)
    for i in range(2):
        for o in range(3):
            plane = result[..., i, o]
            # One value per ring, different rings keep distinct (random) values.
            for r in range(rings.max() + 1):
                assert np.all(plane[rings == r] == plane[rings == r][0])
            assert len(set(plane.ravel().tolist())) == math.ceil(size / 2)
            # Every value comes from the same slice's diagonal, on the ring it is written to.
            diagonal = np.diag(w[..., i, o])
            for r in range(rings.max() + 1):
                assert plane[rings == r][0] in diagonal[np.diag(rings) == r]
            # Symmetric under transposition and 180-degree rotation.
            np.testing.assert_array_equal(plane, plane.T)
            np.testing.assert_array_equal(plane, plane[::-1, ::-1])
    np.testing.assert_array_equal(constraints.RadialConstraint()(out).numpy(), result)


def test_radial_constraint_documented_source_cells():
    # A 4x4 slice takes its values from v_11 (central block) and v_33 (outer ring).
    v = np.arange(16, dtype="float32").reshape(4, 4)
    out = constraints.radial_constraint()(v[:, :, None, None])[..., 0, 0].numpy()
    expected = np.full((4, 4), v[3, 3])
    expected[1:3, 1:3] = v[1, 1]
    np.testing.assert_array_equal(out, expected)
    # A 3x3 slice keeps its centre and takes v_22 for the ring; a 5x5 one adds v_33 and v_44.
    v3 = np.arange(9, dtype="float32").reshape(3, 3)
    out3 = constraints.RadialConstraint()(v3[:, :, None, None])[..., 0, 0].numpy()
    assert out3[1, 1] == v3[1, 1] and np.all(np.delete(out3.ravel(), 4) == v3[2, 2])
    v5 = np.arange(25, dtype="float32").reshape(5, 5)
    out5 = constraints.RadialConstraint()(v5[:, :, None, None])[..., 0, 0].numpy()
    assert [out5[2, 2], out5[1, 2], out5[0, 2]] == [v5[2, 2], v5[3, 3], v5[4, 4]]


def test_radial_constraint_slices_are_independent():
    w = torch.zeros(3, 3, 2, 2)
    w[1, 1, 0, 1] = 5.0
    w[2, 2, 1, 0] = 7.0
    out = constraints.RadialConstraint()(w)
    assert out[1, 1, 0, 1] == 5.0 and out[0, 0, 0, 1] == 0.0
    assert out[0, 0, 1, 0] == 7.0 and out[1, 1, 1, 0] == 0.0
    assert out[..., 0, 0].abs().sum() == 0 and out[..., 1, 1].abs().sum() == 0


@pytest.mark.parametrize("shape", [(3, 3), (3, 3, 2), (3, 4, 2, 2), (2, 3, 3, 3, 1)])
def test_radial_constraint_rejects_non_square_or_wrong_rank(shape):
    with pytest.raises(ValueError, match=r"RadialConstraint.*rows == cols"):
        constraints.RadialConstraint()(np.ones(shape, "float32"))


def test_radial_constraint_config_and_names():
    assert constraints.RadialConstraint().get_config() == {}
    config = constraints.serialize(constraints.RadialConstraint())
    assert config["module"] == "keras.constraints" and config["class_name"] == "RadialConstraint"
    assert isinstance(constraints.deserialize(config), constraints.RadialConstraint)
    # A Keras 2 (tf.keras) config.
    keras2 = constraints.deserialize({"class_name": "RadialConstraint", "config": {}})
    assert isinstance(keras2, constraints.RadialConstraint)
    assert isinstance(constraints.get("radial_constraint"), constraints.RadialConstraint)
    assert constraints.radial_constraint is constraints.RadialConstraint


# ------------------------------------------------------------------------- configs, names, registry

CONFIG_CASES = [(name, kwargs) for name, kwargs, _ in CASES] + [
    ("MaxNorm", {"max_value": 3, "axis": [0, 1]}),
    ("MinMaxNorm", {"min_value": 1, "max_value": 4, "rate": 0.25}),
]


@pytest.mark.oracle
def test_get_config_matches_oracle_and_round_trips(oracle):
    for name, kwargs in CONFIG_CASES:
        ours, theirs = _pair(oracle, name, kwargs)
        config = ours.get_config()
        assert config == theirs.get_config(), f"{name}({kwargs})"
        rebuilt = type(ours).from_config(config)
        assert type(rebuilt) is type(ours) and rebuilt.get_config() == config


@pytest.mark.oracle
def test_serialize_matches_oracle_and_deserializes_keras_configs(oracle):
    for name, kwargs in CONFIG_CASES:
        ours, theirs = _pair(oracle, name, kwargs)
        ours_ser, theirs_ser = constraints.serialize(ours), oracle.constraints.serialize(theirs)
        assert ours_ser["module"] == theirs_ser["module"] == "keras.constraints"
        assert ours_ser["class_name"] == theirs_ser["class_name"]
        assert ours_ser["config"] == serialization_lib.serialize_keras_object(theirs.get_config())
        legacy = {"class_name": theirs_ser["class_name"], "config": theirs_ser["config"]}
        for config in (theirs_ser, legacy):
            obj = constraints.deserialize(config)
            assert type(obj) is type(ours), f"{name}({kwargs})"
        generic = serialization_lib.deserialize_keras_object(theirs_ser)
        assert type(generic) is type(ours)


@pytest.mark.oracle
def test_string_identifiers_match_oracle(oracle):
    names = ["max_norm", "MaxNorm", "min_max_norm", "MinMaxNorm"]
    names += ["non_neg", "NonNeg", "unit_norm", "UnitNorm"]
    for identifier in names:
        ours, theirs = constraints.get(identifier), oracle.constraints.get(identifier)
        assert type(ours).__name__ == type(theirs).__name__, identifier
        assert ours.get_config() == theirs.get_config(), identifier


def test_seed_spelling():
    # `from keras.constraints import max_norm; Dense(64, kernel_constraint=max_norm(2.))`
    from lamina.constraints import max_norm

    c = max_norm(2.0)
    assert isinstance(c, constraints.MaxNorm) and c.get_config() == {"max_value": 2.0, "axis": 0}


def test_get_variants():
    assert constraints.get(None) is None
    c = constraints.UnitNorm(axis=1)
    assert constraints.get(c) is c
    assert isinstance(constraints.get(constraints.NonNeg), constraints.NonNeg)
    fn = lambda w: torch.clamp(w, -1, 1)  # noqa: E731
    assert constraints.get(fn) is fn
    got = constraints.get({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": [0, 1]}})
    assert got.get_config() == {"max_value": 3, "axis": [0, 1]}


@pytest.mark.parametrize("identifier", ["foo", "maxnorm", 3])
def test_get_rejects_unknown_identifiers(identifier):
    with pytest.raises(ValueError, match="Could not interpret constraint identifier"):
        constraints.get(identifier)


def test_aliases_and_registry():
    table = object_registration.builtin_objects("keras.constraints")
    pairs = {
        "max_norm": "MaxNorm",
        "min_max_norm": "MinMaxNorm",
        "non_neg": "NonNeg",
        "unit_norm": "UnitNorm",
        "radial_constraint": "RadialConstraint",
    }
    for alias, name in pairs.items():
        assert getattr(constraints, alias) is getattr(constraints, name)
        assert table[alias] is table[name] is getattr(constraints, name)
    assert table["Constraint"] is constraints.Constraint


def test_base_class_is_identity_with_empty_config():
    base = constraints.Constraint()
    w = torch.randn(3, 2)
    assert torch.equal(base(w), w)
    assert base.get_config() == {}
    assert isinstance(constraints.Constraint.from_config({}), constraints.Constraint)


# ------------------------------------------------------------------------------------------- errors

BAD_ARGS = [
    ("MaxNorm", {"max_value": -1}, "`max_value`"),
    ("MaxNorm", {"max_value": float("nan")}, "`max_value`"),
    ("MaxNorm", {"max_value": "2"}, "`max_value`"),
    ("MaxNorm", {"axis": "a"}, "`axis`"),
    ("MaxNorm", {"axis": 1.5}, "`axis`"),
    ("MaxNorm", {"axis": []}, "`axis`"),
    ("UnitNorm", {"axis": None}, "`axis`"),
    ("MinMaxNorm", {"min_value": -0.5}, "`min_value`"),
    ("MinMaxNorm", {"max_value": float("inf")}, "`max_value`"),
    ("MinMaxNorm", {"min_value": 2.0, "max_value": 1.0}, "`min_value`"),
    ("MinMaxNorm", {"rate": 1.5}, "`rate`"),
    ("MinMaxNorm", {"rate": -0.1}, "`rate`"),
]


@pytest.mark.parametrize("name,kwargs,pattern", BAD_ARGS)
def test_invalid_arguments_name_the_argument(name, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        getattr(constraints, name)(**kwargs)


@pytest.mark.parametrize(
    "constraint",
    [constraints.MaxNorm(axis=2), constraints.UnitNorm(axis=[0, 3]), constraints.MinMaxNorm(axis=-3)],
)
def test_axis_out_of_range_at_call(constraint):
    with pytest.raises(ValueError, match=rf"{type(constraint).__name__}: axis=.*out of range.*\(4, 3\)"):
        constraint(np.ones((4, 3), "float32"))
