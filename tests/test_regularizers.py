"""Tests for lamina.regularizers: values and gradients against Keras 3, configs, names, errors."""

import re

import numpy as np
import pytest
import torch

from lamina import backend, regularizers
from lamina.saving import object_registration, serialization_lib

RTOL, ATOL = 1e-5, 1e-6

# (class name, constructor kwargs) pairs checked against the oracle.
CASES = [
    ("L1", {}),
    ("L1", {"l1": 0.3}),
    ("L2", {}),
    ("L2", {"l2": 0.2}),
    ("L1L2", {}),
    ("L1L2", {"l1": 0.1, "l2": 0.2}),
    ("L1L2", {"l2": 0.05}),
    ("OrthogonalRegularizer", {}),
    ("OrthogonalRegularizer", {"factor": 0.1, "mode": "columns"}),
]
SHAPES_2D_4D = [(5, 4), (3, 3, 2, 4)]


def _pair(oracle, name, kwargs):
    return getattr(regularizers, name)(**kwargs), getattr(oracle.regularizers, name)(**kwargs)


def _oracle_value(oracle, reg, x):
    # Keras's OrthogonalRegularizer mis-broadcasts numpy inputs in "columns" mode, so feed it a
    # backend tensor, as a layer's variable would be.
    return np.asarray(reg(oracle.ops.convert_to_tensor(x)))


# Oracle tests loop over CASES inside one test: each use of the `oracle` fixture resets the Keras
# session, which costs more than the comparisons themselves.


@pytest.mark.oracle
@pytest.mark.parametrize("shape", SHAPES_2D_4D)
def test_value_matches_oracle(oracle, rng, shape):
    for name, kwargs in CASES:
        if name == "OrthogonalRegularizer" and len(shape) != 2:
            continue
        ours, theirs = _pair(oracle, name, kwargs)
        x = rng.normal(size=shape).astype("float32")
        out = ours(x)
        assert isinstance(out, torch.Tensor) and out.shape == () and out.dtype == torch.float32
        np.testing.assert_allclose(
            out.numpy(),
            _oracle_value(oracle, theirs, x),
            rtol=RTOL,
            atol=ATOL,
            err_msg=f"{name}({kwargs})",
        )


@pytest.mark.oracle
def test_gradient_matches_oracle(oracle, rng):
    import jax

    # L1 / L2 gradients are checked analytically below; the oracle covers the non-trivial ones.
    for name, kwargs in [c for c in CASES if c[0] == "OrthogonalRegularizer"] + [("L1L2", {})]:
        ours, theirs = _pair(oracle, name, kwargs)
        x = rng.normal(size=(4, 6)).astype("float32")
        t = torch.tensor(x, requires_grad=True)
        out = ours(t)
        expected = np.asarray(jax.grad(lambda v: theirs(v))(oracle.ops.convert_to_tensor(x)))
        if not out.requires_grad:
            # An all-zero penalty is a constant: it contributes no gradient at all.
            np.testing.assert_array_equal(expected, 0.0, err_msg=f"{name}({kwargs})")
            continue
        out.backward()
        np.testing.assert_allclose(
            t.grad.numpy(), expected, rtol=1e-4, atol=1e-6, err_msg=f"{name}({kwargs})"
        )


@pytest.mark.oracle
def test_orthogonal_epsilon_on_tiny_vectors_matches_oracle(oracle):
    # A vector shorter than epsilon() is divided by epsilon(), not by its norm.
    rows = np.array([[1e-9, 0.0, 0.0], [1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], "float32")
    for mode, x in (("rows", rows), ("columns", rows.T.copy())):
        ours = regularizers.OrthogonalRegularizer(0.1, mode)
        theirs = oracle.regularizers.OrthogonalRegularizer(0.1, mode)
        expected = _oracle_value(oracle, theirs, x)
        np.testing.assert_allclose(ours(x).numpy(), expected, rtol=RTOL, atol=ATOL)


def test_orthogonal_zero_row_has_finite_gradient():
    x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [3.0, 0.0, -1.0]], requires_grad=True)
    regularizers.OrthogonalRegularizer(0.1)(x).backward()
    assert torch.isfinite(x.grad).all()


def test_orthogonal_is_zero_for_orthogonal_rows_and_columns():
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(0)))
    rows = regularizers.OrthogonalRegularizer(1.0, "rows")(q[:3])
    columns = regularizers.OrthogonalRegularizer(1.0, "columns")(q[:, :3])
    assert rows.item() == pytest.approx(0.0, abs=1e-6)
    assert columns.item() == pytest.approx(0.0, abs=1e-6)
    parallel = torch.tensor([[1.0, 2.0], [2.0, 4.0]])
    assert regularizers.OrthogonalRegularizer(1.0)(parallel).item() == pytest.approx(1.0, rel=1e-6)


def test_analytic_values_and_gradients():
    x = torch.tensor([[1.0, -2.0], [3.0, -4.0]], requires_grad=True)
    loss = regularizers.L1L2(l1=0.5, l2=0.25)(x)
    assert loss.item() == pytest.approx(0.5 * 10 + 0.25 * 30)
    loss.backward()
    expected = 0.5 * torch.sign(x.detach()) + 2 * 0.25 * x.detach()
    torch.testing.assert_close(x.grad, expected)


@pytest.mark.parametrize("make", [list, np.asarray, torch.tensor])
def test_accepts_lists_arrays_and_tensors(make):
    out = regularizers.L2(0.5)(make([[1.0, 2.0], [3.0, 4.0]]))
    assert isinstance(out, torch.Tensor)
    assert out.item() == pytest.approx(15.0)


def test_dtypes():
    x64 = np.array([1.0, -2.0])
    assert regularizers.L1(0.5)(x64).dtype == torch.float64
    assert regularizers.L2(0.5)(torch.tensor([1.0], dtype=torch.float16)).dtype == torch.float16
    # Integer tensors are promoted: a penalty of 0.5 * 3 must not be truncated to an integer.
    out = regularizers.L1(0.5)(torch.tensor([1, -2]))
    assert out.dtype == torch.float32 and out.item() == pytest.approx(1.5)


def test_zero_factor_skips_term_instead_of_making_nan():
    x = torch.tensor([float("inf"), 1.0])
    assert regularizers.L1L2(l1=0.1, l2=0.0)(x).item() == float("inf")
    zero = regularizers.L1L2()(x)
    assert zero.shape == () and zero.item() == 0.0


CONFIG_CASES = CASES + [
    ("L1", {"l1": None}),
    ("L2", {"l2": None}),
    ("L1L2", {"l1": None, "l2": None}),
    ("L1L2", {"l1": 1, "l2": 2}),
    ("L1", {"l1": 0.5}),
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
    for name, kwargs in CASES:
        ours, theirs = _pair(oracle, name, kwargs)
        ours_ser, theirs_ser = regularizers.serialize(ours), oracle.regularizers.serialize(theirs)
        for key in ("module", "class_name", "config"):
            assert ours_ser[key] == theirs_ser[key], f"{name}({kwargs}): {key}"
        # Keras 3 dict form, legacy dict form, and the generic deserializer all give the Lamina class.
        legacy = {"class_name": theirs_ser["class_name"], "config": theirs_ser["config"]}
        for config in (theirs_ser, legacy):
            obj = regularizers.deserialize(config)
            assert type(obj) is type(ours) and obj.get_config() == theirs.get_config()
        generic = serialization_lib.deserialize_keras_object(theirs_ser)
        assert type(generic) is type(ours)


@pytest.mark.oracle
def test_string_identifiers_match_oracle(oracle):
    names = ["l1", "L1", "l2", "L2", "L1L2", "l1l2", "orthogonal_regularizer", "OrthogonalRegularizer"]
    for identifier in names:
        ours, theirs = regularizers.get(identifier), oracle.regularizers.get(identifier)
        assert type(ours).__name__ == type(theirs).__name__, identifier
        assert ours.get_config() == theirs.get_config(), identifier


def test_get_variants():
    assert regularizers.get(None) is None
    reg = regularizers.L2(0.3)
    assert regularizers.get(reg) is reg
    assert isinstance(regularizers.get(regularizers.L1), regularizers.L1)
    fn = lambda x: torch.sum(x)  # noqa: E731
    assert regularizers.get(fn) is fn
    got = regularizers.get({"class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.25}})
    assert got.get_config() == {"l1": 0.5, "l2": 0.25}
    # Lamina also resolves the Keras 2 snake-case name "l1_l2" (Keras 3's `get` rejects it).
    assert isinstance(regularizers.get("l1_l2"), regularizers.L1L2)
    assert isinstance(regularizers.deserialize("l2"), regularizers.L2)


@pytest.mark.parametrize("identifier", ["foo", 3, 1.5])
def test_get_rejects_unknown_identifiers(identifier):
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier"):
        regularizers.get(identifier)


def test_get_reports_bad_config_values_not_as_unknown_name():
    with pytest.raises(ValueError, match="`l1`"):
        regularizers.get({"class_name": "L1", "config": {"l1": -1.0}})


def test_aliases_are_the_classes():
    assert regularizers.l1 is regularizers.L1
    assert regularizers.l2 is regularizers.L2
    assert regularizers.l1_l2 is regularizers.L1L2
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    # Keras 3 semantics: `l1_l2()` has the L1L2 defaults.
    assert regularizers.l1_l2().get_config() == {"l1": 0.0, "l2": 0.0}


def test_every_name_is_registered_under_keras_regularizers():
    table = object_registration.builtin_objects("keras.regularizers")
    names = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer"]
    for name in names + ["l1", "l2", "l1_l2", "orthogonal_regularizer"]:
        assert table[name] is getattr(regularizers, name)


BAD_ARGS = [
    ("L1", "l1", -1.0),
    ("L1", "l1", float("nan")),
    ("L1", "l1", float("inf")),
    ("L2", "l2", -0.5),
    ("L2", "l2", float("inf")),
    ("L1L2", "l1", -1.0),
    ("L1L2", "l2", float("nan")),
    ("OrthogonalRegularizer", "factor", -1.0),
    ("OrthogonalRegularizer", "factor", float("inf")),
    ("OrthogonalRegularizer", "factor", None),
    ("L1", "l1", "a"),
    ("L1", "l1", [1]),
]


@pytest.mark.parametrize("name,arg,value", BAD_ARGS)
def test_invalid_factors_name_the_argument(name, arg, value):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        getattr(regularizers, name)(**{arg: value})


@pytest.mark.oracle
def test_oracle_rejects_the_same_factors(oracle):
    for name, arg, value in BAD_ARGS:
        with pytest.raises(ValueError):
            getattr(oracle.regularizers, name)(**{arg: value})


def test_invalid_factor_message_shows_value():
    with pytest.raises(ValueError, match=r"non-negative finite float.*l1=-1"):
        regularizers.L1(-1)
    with pytest.raises(ValueError, match="`l2`"):
        regularizers.L2(True)


@pytest.mark.parametrize("mode", ["x", None, "ROWS"])
def test_invalid_mode(mode):
    with pytest.raises(ValueError, match=r"`mode`.*'rows', 'columns'"):
        regularizers.OrthogonalRegularizer(mode=mode)


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4)])
def test_orthogonal_requires_rank_2(shape):
    with pytest.raises(ValueError, match=r"rank 2.*" + re.escape(str(shape))):
        regularizers.OrthogonalRegularizer()(np.ones(shape, "float32"))


def test_orthogonal_needs_two_vectors():
    # Keras returns NaN here (a division by zero pairs); Lamina refuses instead of poisoning the loss.
    with pytest.raises(ValueError, match="at least 2 rows"):
        regularizers.OrthogonalRegularizer()(np.ones((1, 4), "float32"))
    with pytest.raises(ValueError, match="at least 2 columns"):
        regularizers.OrthogonalRegularizer(mode="columns")(np.ones((4, 1), "float32"))


def test_base_class():
    base = regularizers.Regularizer()
    out = base(np.ones((2, 2), "float32"))
    assert isinstance(out, torch.Tensor) and out.item() == 0.0
    with pytest.raises(NotImplementedError):
        base.get_config()


def test_custom_subclass_round_trip():
    @object_registration.register_keras_serializable(package="test_regularizers")
    class MeanSquare(regularizers.Regularizer):
        def __init__(self, factor=0.1):
            self.factor = factor

        def __call__(self, x):
            return self.factor * torch.mean(torch.square(torch.as_tensor(x)))

        def get_config(self):
            return {"factor": self.factor}

    config = regularizers.serialize(MeanSquare(0.5))
    assert config["registered_name"] == "test_regularizers>MeanSquare"
    rebuilt = regularizers.deserialize(config)
    assert isinstance(rebuilt, MeanSquare) and rebuilt.factor == 0.5
    assert rebuilt(torch.tensor([2.0])).item() == pytest.approx(2.0)


@pytest.mark.oracle
def test_epsilon_is_read_at_call_time(oracle):
    x = np.array([[3e-6, 4e-6], [1.0, 1.0], [1.0, -0.5]], "float32")
    previous = backend.epsilon(), oracle.config.epsilon()
    try:
        backend.set_epsilon(1e-5)
        oracle.config.set_epsilon(1e-5)
        ours = regularizers.OrthogonalRegularizer(0.2)(x).numpy()
        theirs = _oracle_value(oracle, oracle.regularizers.OrthogonalRegularizer(0.2), x)
    finally:
        backend.set_epsilon(previous[0])
        oracle.config.set_epsilon(previous[1])
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)
