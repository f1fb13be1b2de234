"""Tests for lamina.activations: oracle agreement, argument variants, get/serialize/deserialize."""

import inspect

import numpy as np
import pytest
import torch

from lamina import activations
from lamina.saving import object_registration


# Functions taking only `x`, compared elementwise on the same inputs.
UNARY = [
    "relu", "leaky_relu", "relu6", "sigmoid", "softplus", "softsign", "tanh", "elu", "selu", "celu",
    "exponential", "gelu", "silu", "swish", "hard_sigmoid", "hard_silu", "hard_swish", "linear",
    "mish", "hard_tanh", "log_sigmoid", "tanh_shrink", "soft_shrink", "hard_shrink", "sparse_plus",
    "sparse_sigmoid", "squareplus",
]
# x + sqrt(x**2 + b) cancels for very negative x, and XLA fuses x**2 + b into an FMA, so the two
# libraries differ by about one rounding of |x| there: compare squareplus on moderate inputs only.
ATOL = {"squareplus": 1e-5}


def _inputs(rng, shape=(4, 33), name=None):
    """Random float32 data spanning small, negative, large and exactly-at-the-kink values."""
    x = rng.normal(size=shape) * 3
    x[0, :8] = [0.0, -1.0, 1.0, 3.0, -3.0, 6.0, 0.5, -0.5]
    x[1, :8] = [20.0, -20.0, 88.0, -88.0, 500.0, -500.0, 1e4, -1e4]
    if name == "squareplus":
        x = np.clip(x, -30, 30)
    return x.astype("float32")


def _close(actual, expected, atol=1e-6):
    assert isinstance(actual, torch.Tensor)
    np.testing.assert_allclose(actual.detach().numpy(), np.asarray(expected), rtol=1e-5, atol=atol)


@pytest.mark.oracle
def test_signatures_match_keras(oracle):
    for name in sorted(activations._ACTIVATIONS) + ["get", "serialize", "deserialize"]:
        ours = inspect.signature(getattr(activations, name))
        params = [p for p in ours.parameters.values() if p.name != "alpha" or name != "relu"]
        assert str(ours.replace(parameters=params)) == str(
            inspect.signature(getattr(oracle.activations, name))
        ), name


@pytest.mark.oracle
@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_oracle(oracle, rng, name):
    x = _inputs(rng, name=name)
    expected = getattr(oracle.activations, name)(x)
    out = getattr(activations, name)(x)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == x.shape
    _close(out, expected, atol=ATOL.get(name, 1e-6))


@pytest.mark.oracle
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("leaky_relu", {"negative_slope": 0.01}),
        ("elu", {"alpha": 0.3}),
        ("celu", {"alpha": 2.0}),
        ("gelu", {"approximate": True}),
        ("soft_shrink", {"threshold": 1.5}),
        ("soft_shrink", {"threshold": -0.5}),
        ("hard_shrink", {"threshold": 2.0}),
        ("squareplus", {"b": 0.5}),
        ("threshold", {"threshold": 0.7, "default_value": -2.0}),
        ("glu", {"axis": 0}),
        ("glu", {"axis": -1}),
    ],
)
def test_argument_variants_match_oracle(oracle, rng, name, kwargs):
    x = _inputs(rng, shape=(4, 34), name=name)
    _close(getattr(activations, name)(x, **kwargs), getattr(oracle.activations, name)(x, **kwargs),
           atol=ATOL.get(name, 1e-6))


@pytest.mark.oracle
def test_relu_argument_combinations_match_oracle(oracle):
    x = np.array([-7, -3, -1, -0.5, 0, 0.5, 1, 1.5, 2, 5, 6, 7], "float32")
    for slope in (0.0, 0.1, -0.2):
        for max_value in (None, 6, 3.0, 0.5, -1.0):
            for threshold in (0.0, 1.0, -1.0, 8.0):
                kwargs = dict(negative_slope=slope, max_value=max_value, threshold=threshold)
                _close(activations.relu(x, **kwargs), oracle.activations.relu(x, **kwargs))


@pytest.mark.oracle
def test_integer_inputs_keep_keras_dtypes(oracle):
    x = np.array([-3, -1, 0, 1, 2, 5, 7], "int32")
    cases = [
        ("relu", {}), ("relu", {"max_value": 2.5}), ("relu", {"max_value": 6}),
        ("relu", {"threshold": 1.5}), ("relu", {"negative_slope": 0.5}), ("hard_tanh", {}),
        ("linear", {}), ("relu6", {}), ("softplus", {}), ("threshold", {"threshold": 1, "default_value": -7}),
    ]
    for name, kwargs in cases:
        expected = np.asarray(getattr(oracle.activations, name)(x, **kwargs))
        out = getattr(activations, name)(x, **kwargs).numpy()
        assert out.dtype == expected.dtype, (name, kwargs)
        np.testing.assert_allclose(out, expected, rtol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [-1, 0, (1, 2), (0, 2)])
def test_softmax_axes_match_oracle(oracle, rng, name, axis):
    x = (rng.normal(size=(2, 3, 4)) * 10).astype("float32")
    x[0, 0, 0] = 200.0  # a large logit must not overflow
    _close(getattr(activations, name)(x, axis=axis), getattr(oracle.activations, name)(x, axis=axis))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_negative_and_list_axes(rng, name):
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    fn = getattr(activations, name)
    expected = fn(x, axis=(1, 2))
    _close(fn(x, axis=(-2, -1)), expected)
    _close(fn(x, axis=[2, 1]), expected)
    if name == "softmax":
        _close(expected.sum(dim=(1, 2)), np.ones(2))


@pytest.mark.parametrize("axis", [3, -4, (0, 0), (1, 5), 1.5])
def test_softmax_bad_axis(axis):
    with pytest.raises(ValueError, match="axis"):
        activations.softmax(np.ones((2, 3, 4), "float32"), axis=axis)


def test_glu_odd_axis_is_rejected():
    with pytest.raises(ValueError, match="even size"):
        activations.glu(np.ones((2, 3), "float32"))


def test_sparsemax_is_a_simplex_projection(rng):
    _close(activations.sparsemax([0.0, 0.5, 1.0]), [0.0, 0.25, 0.75])
    _close(activations.sparsemax([[1.0, 0.9, 0.1]]), [[0.55, 0.45, 0.0]])
    x = rng.normal(size=(3, 5, 6)).astype("float32")
    for axis in (-1, 1, 0):
        out = activations.sparsemax(x, axis=axis)
        assert (out >= 0).all()
        _close(out.sum(dim=axis), np.ones(out.sum(dim=axis).shape))
        # Outputs keep the order of the inputs and are x - tau on the support.
        tau = torch.from_numpy(x) - out
        support = out > 0
        spread = torch.where(support, tau, float("nan"))
        assert torch.allclose(spread.nanmean(dim=axis, keepdim=True).expand_as(tau)[support],
                              tau[support], atol=1e-5)


@pytest.mark.oracle
def test_sparsemax_matches_oracle_for_one_hot_supports(oracle):
    # Keras 3.15 gets the threshold wrong when the support has several elements (fixed upstream,
    # keras-team/keras#23469); with well separated logits the support is one element and both agree.
    x = np.array([[0.0, 3.0, 1.0, -2.0], [5.0, 1.0, 0.5, 0.0]], "float32")
    _close(activations.sparsemax(x), oracle.activations.sparsemax(x))
    _close(activations.sparsemax(x.T, axis=0), oracle.activations.sparsemax(x.T, axis=0))


def test_inputs_as_lists_and_tensors():
    out = activations.relu([-1.0, 2.0])
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    t = torch.tensor([-1.0, 2.0], requires_grad=True)
    y = activations.sigmoid(t)
    y.sum().backward()
    assert t.grad is not None
    assert activations.linear(t) is t


def test_relu_keras2_alpha_alias():
    x = np.array([-4.0, -1.0, 0.0, 2.0, 9.0], "float32")
    _close(activations.relu(x, alpha=0.1), activations.relu(x, negative_slope=0.1))
    _close(activations.relu(x, alpha=0.1, max_value=5.0), [-0.4, -0.1, 0.0, 2.0, 5.0])
    # Keras 2 positional order relu(x, alpha, max_value) lines up with the Keras 3 one.
    _close(activations.relu(x, 0.1, 5.0), [-0.4, -0.1, 0.0, 2.0, 5.0])
    with pytest.raises(ValueError, match="alpha"):
        activations.relu(x, negative_slope=0.2, alpha=0.1)


def test_get():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu

    def custom(x):
        return x * 2

    assert activations.get(custom) is custom
    assert activations.get({"class_name": "function", "config": "tanh", "module": "builtins",
                            "registered_name": "function"}) is activations.tanh
    with object_registration.custom_object_scope({"custom": custom}):
        assert activations.get("custom") is custom


def test_get_unknown_name():
    with pytest.raises(ValueError, match="Unknown activation function: 'not_an_activation'"):
        activations.get("not_an_activation")
    with pytest.raises(ValueError, match="Could not interpret activation function identifier"):
        activations.get(3)
    with pytest.raises(ValueError, match="Unknown activation function"):
        activations.deserialize("not_an_activation")


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["relu", "swish", "hard_swish", "linear", "softmax", "sparsemax"])
def test_serialize_builtins_matches_oracle(oracle, name):
    fn = getattr(activations, name)
    config = activations.serialize(fn)
    assert config == oracle.activations.serialize(getattr(oracle.activations, name))
    assert activations.deserialize(config) is fn
    assert activations.get(config) is activations.deserialize(config)


def test_serialize_custom_functions():
    @object_registration.register_keras_serializable(package="test_activations")
    def scaled_tanh(x):
        return 2 * torch.tanh(x)

    config = activations.serialize(scaled_tanh)
    assert config["class_name"] == "function"
    assert config["config"] == "test_activations>scaled_tanh"
    assert activations.deserialize(config) is scaled_tanh
    assert activations.get(config) is scaled_tanh

    def unregistered(x):
        return x

    config = activations.serialize(unregistered)
    assert config["config"] == "unregistered"
    assert activations.deserialize(config, custom_objects={"unregistered": unregistered}) is unregistered
    assert activations.deserialize("unregistered", custom_objects={"unregistered": unregistered}) is (
        unregistered
    )
    with pytest.raises(ValueError):
        activations.serialize(3)


def test_keras_written_configs_resolve():
    # What Keras writes for activation functions inside layer configs.
    assert activations.deserialize("relu") is activations.relu
    assert activations.deserialize("swish") is activations.silu
    assert activations.deserialize({"class_name": "relu", "config": {}}) is activations.relu
    keras3 = {"module": "keras.activations", "class_name": "function", "config": "gelu",
              "registered_name": "function"}
    assert activations.deserialize(keras3) is activations.gelu


def test_registered_as_keras_builtins():
    registered = object_registration.builtin_objects("keras.activations")
    for name, fn in activations._ACTIVATIONS.items():
        assert registered[name] is fn
