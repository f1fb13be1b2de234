"""Tests for lamina.layers.core.lambda_layer.Lambda, including the seed 001 examples."""

import json

import numpy as np
import pytest
import torch

import lamina
from lamina import backend as K
from lamina import layers
from lamina.layers.core.activation import Activation
from lamina.layers.core.dense import Dense
from lamina.layers.core.embedding import Embedding
from lamina.layers.core.lambda_layer import Lambda
from lamina.layers.core.masking import Masking
from lamina.saving import object_registration, serialization_lib

X = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")


# --- seed 001 examples, written with torch ------------------------------------------------------


def antirectifier(x):
    x = x - x.mean(dim=1, keepdim=True)
    x = torch.nn.functional.normalize(x, dim=1)
    return torch.cat([torch.relu(x), torch.relu(-x)], dim=1)


def antirectifier_output_shape(input_shape):
    shape = list(input_shape)
    assert len(shape) == 2
    shape[-1] *= 2
    return tuple(shape)


def hadamard_product_sum(tensors):
    out1 = tensors[0] * tensors[1]
    out2 = out1.sum(dim=-1)
    return [out1, out2]


def hadamard_product_sum_output_shape(input_shapes):
    shape1 = list(input_shapes[0])
    shape2 = list(input_shapes[1])
    assert shape1 == shape2
    return [tuple(shape1), tuple(shape2[:-1])]


def test_seed_square_in_sequential():
    model = lamina.Sequential([lamina.Input((4,)), Lambda(lambda x: x**2)])
    assert model.output_shape == (None, 4)
    np.testing.assert_allclose(model(X).numpy(), X**2, rtol=1e-6)


@pytest.mark.oracle
def test_seed_antirectifier_matches_oracle(oracle):
    ops = oracle.ops

    def keras_antirectifier(x):
        x = x - ops.mean(x, axis=1, keepdims=True)
        x = x / ops.sqrt(ops.maximum(ops.sum(x * x, axis=1, keepdims=True), 1e-24))
        return ops.concatenate([ops.relu(x), ops.relu(-x)], axis=1)

    model = lamina.Sequential(
        [lamina.Input((4,)), Lambda(antirectifier, output_shape=antirectifier_output_shape)]
    )
    assert model.output_shape == (None, 8)
    expected = np.asarray(oracle.layers.Lambda(keras_antirectifier)(X))
    np.testing.assert_allclose(model(X).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_seed_antirectifier_with_backend_functions():
    """Seed 001 verbatim: the function uses the Keras 2 backend functions ``K.*``."""
    def seed_antirectifier(x):
        x -= K.mean(x, axis=1, keepdims=True)
        x = K.l2_normalize(x, axis=1)
        pos = K.relu(x)
        neg = K.relu(-x)
        return K.concatenate([pos, neg], axis=1)

    model = lamina.Sequential([lamina.Input((4,))])
    model.add(Lambda(seed_antirectifier, output_shape=antirectifier_output_shape))
    assert model.output_shape == (None, 8)
    expected = antirectifier(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(model(X).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_seed_hadamard_two_outputs_in_functional_model():
    input_1, input_2 = lamina.Input((3,)), lamina.Input((3,))
    d1, d2 = Dense(32), Dense(32)
    x1 = d1(input_1)
    x2 = d2(input_2)
    layer = Lambda(hadamard_product_sum, hadamard_product_sum_output_shape)
    x_hadamard, x_sum = layer([x1, x2])
    assert (x_hadamard.shape, x_sum.shape) == ((None, 32), (None,))
    model = lamina.Model([input_1, input_2], [x_hadamard, x_sum])
    a, b = X[:, :3], X[:, 1:]
    out_hadamard, out_sum = model([a, b])
    h1 = a @ d1.get_weights()[0] + d1.get_weights()[1]
    h2 = b @ d2.get_weights()[0] + d2.get_weights()[1]
    np.testing.assert_allclose(out_hadamard.detach().numpy(), h1 * h2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out_sum.detach().numpy(), (h1 * h2).sum(-1), rtol=1e-5, atol=1e-5)


def test_seed_hadamard_shapes_inferred_without_output_shape():
    x_hadamard, x_sum = Lambda(hadamard_product_sum)([lamina.Input((None, 5)), lamina.Input((None, 5))])
    assert (x_hadamard.shape, x_sum.shape) == ((None, None, 5), (None, None))


# --- output shapes, arguments, masks, training --------------------------------------------------


@pytest.mark.oracle
def test_output_shape_forms_match_oracle(oracle):
    for output_shape, input_shape in [((7,), (None, 3)), ([(3, 4), (5,)], [(2, 2), (2, 2)])]:
        k = oracle.layers.Lambda(lambda x: x, output_shape=output_shape)
        expected = k.compute_output_shape(input_shape)
        got = Lambda(lambda x: x, output_shape=output_shape).compute_output_shape(input_shape)
        assert got == expected
    # A given output_shape is what the symbolic tensor reports, as in Keras.
    assert Lambda(lambda x: x, output_shape=(7,))(lamina.Input((3,))).shape == (None, 7)


def test_augmented_assignment_does_not_write_into_inputs():
    def center(x):
        x -= x.mean(dim=1, keepdim=True)
        return x

    data = X.copy()
    np.testing.assert_allclose(Lambda(center)(data).numpy(), X - X.mean(1, keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(data, X)
    # Inside a model, the tensor written to would otherwise be one autograd still needs.
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, Lambda(center)(Activation("sigmoid")(Dense(4)(inputs))))
    model(X).sum().backward()


def test_inferred_shape_and_dtype():
    y = Lambda(lambda x: torch.argmax(x, dim=-1))(lamina.Input((None, 4)))
    assert y.shape == (None, None)
    assert y.dtype.startswith("int")


def test_arguments_are_passed_as_keywords():
    layer = Lambda(lambda x, a, b=1.0: x * a + b, arguments={"a": 2.0, "b": 3.0})
    np.testing.assert_allclose(layer(X).numpy(), X * 2 + 3, rtol=1e-6)
    assert layer.get_config()["arguments"] == {"a": 2.0, "b": 3.0}


def test_function_receives_mask_and_training():
    x = np.ones((2, 3, 2), "float32")
    x[0, 1] = 0
    masked = Masking()(x)
    out = Lambda(lambda t, mask=None: t.sum(-1) * mask)(masked)
    np.testing.assert_array_equal(out.numpy(), [[2, 0, 2], [2, 2, 2]])
    scale = Lambda(lambda t, training=None: t * (2.0 if training else 1.0))
    np.testing.assert_array_equal(scale(X, training=True).numpy(), 2 * X)
    np.testing.assert_array_equal(scale(X).numpy(), X)


def test_masks():
    ids = np.array([[1, 0, 2]])
    embedded = Embedding(3, 2, mask_zero=True)(ids)
    # No `mask`: the output carries no mask (as in Keras).
    assert getattr(Lambda(lambda t: t * 2)(embedded), "_keras_mask", None) is None
    # A callable computes the output mask from the input mask.
    out = Lambda(lambda t: t[:, :2], mask=lambda t, m: m[:, :2])(embedded)
    np.testing.assert_array_equal(out._keras_mask.numpy(), [[True, False]])
    # A constant mask is returned for every input, eagerly and symbolically.
    constant = np.array([True, False])
    out = Lambda(lambda t: t, mask=constant)(torch.ones(2, 2))
    np.testing.assert_array_equal(out._keras_mask.numpy(), constant)
    embedded = Embedding(3, 2, mask_zero=True)(lamina.Input((3,)))
    y = Lambda(lambda t: t[:, :2], mask=lambda t, m: m[:, :2])(embedded)
    assert y._keras_mask.shape == (None, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(function=3), "function"),
        (dict(function=abs, arguments=3), "arguments"),
        (dict(function=abs, output_shape="x"), "output_shape"),
        (dict(function=abs, output_shape=[3, "a"]), "output_shape"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Lambda(**kwargs)


# --- serialization ------------------------------------------------------------------------------


def _scale(k):
    return lambda x, s=2.0: x * k * s


@pytest.mark.oracle
def test_config_matches_oracle(oracle):
    fn = _scale(3.0)
    mask = np.array([True, False])
    k = oracle.layers.Lambda(fn, output_shape=(4,), mask=mask, arguments={"s": 1.0}, name="lam")
    ours = Lambda(fn, output_shape=(4,), mask=mask, arguments={"s": 1.0}, name="lam")
    # Same Python lambda: same bytecode, defaults and closure; same constant-mask form.
    expected = json.loads(json.dumps(oracle.layers.serialize(k)))
    assert json.loads(json.dumps(layers.serialize(ours))) == expected
    assert ours.get_config()["function"]["class_name"] == "__lambda__"


@pytest.mark.oracle
def test_registered_function_round_trip(oracle):
    def double(x):
        return x * 2

    object_registration.register_keras_serializable(package="lamina_tests")(double)
    oracle.saving.register_keras_serializable(package="lamina_tests")(double)
    k = oracle.layers.Lambda(double, name="lam")
    ours = Lambda(double, name="lam")
    assert ours.get_config() == k.get_config()
    # Named functions carry no code: safe mode accepts them.
    for layer in (Lambda.from_config(ours.get_config()), layers.deserialize(oracle.layers.serialize(k))):
        assert layer.function is double
        np.testing.assert_array_equal(layer(X).numpy(), 2 * X)


def test_named_function_needs_registration_or_custom_objects():
    config = layers.serialize(Lambda(antirectifier, output_shape=antirectifier_output_shape))
    with pytest.raises(ValueError, match="antirectifier"):
        layers.deserialize(config)
    custom = {"antirectifier": antirectifier, "antirectifier_output_shape": antirectifier_output_shape}
    layer = layers.deserialize(config, custom_objects=custom)
    assert layer.function is antirectifier and layer.compute_output_shape((None, 3)) == (None, 6)


def test_bytecode_is_refused_in_safe_mode():
    serialized = layers.serialize(Lambda(_scale(3.0)))
    with pytest.raises(ValueError, match="safe_mode=False") as info:
        layers.deserialize(serialized)
    assert "arbitrary code" in str(info.value)
    with pytest.raises(ValueError, match="safe_mode=False"):
        Lambda.from_config(serialized["config"])
    with serialization_lib.SafeModeScope(True), pytest.raises(ValueError, match="safe_mode=False"):
        Lambda.from_config(serialized["config"])
    # Every function slot is guarded, not only `function`.
    slots = ((dict(output_shape=lambda s: s), "output_shape"), (dict(mask=lambda x, m: m), "mask"))
    for kwargs, slot in slots:
        config = Lambda(lamina.activations.relu, **kwargs).get_config()
        with pytest.raises(ValueError, match=f"`{slot}`"):
            Lambda.from_config(config)


def test_bytecode_loads_when_safe_mode_is_off():
    serialized = layers.serialize(Lambda(_scale(3.0), output_shape=lambda s: s, arguments={"s": 0.5}))
    loaded = [
        Lambda.from_config(serialized["config"], safe_mode=False),
        serialization_lib.deserialize_keras_object(serialized, safe_mode=False),
    ]
    with serialization_lib.SafeModeScope(False):
        loaded.append(layers.deserialize(serialized))
    for layer in loaded:
        assert isinstance(layer, Lambda)
        np.testing.assert_allclose(layer(X).numpy(), X * 3.0 * 0.5, rtol=1e-6)
        assert layer.compute_output_shape((None, 4)) == (None, 4)
        assert layer.function.__defaults__ == (2.0,)
    assert serialization_lib.in_safe_mode() is None


def test_bytecode_globals_come_only_from_custom_objects():
    config = Lambda(lambda x: torch.tanh(x)).get_config()
    layer = Lambda.from_config(config, safe_mode=False)
    with pytest.raises(NameError, match="torch"):
        layer(X)
    layer = Lambda.from_config(config, custom_objects={"torch": torch}, safe_mode=False)
    np.testing.assert_allclose(layer(X).numpy(), np.tanh(X), rtol=1e-6)


@pytest.mark.oracle
def test_keras_written_bytecode_runs_on_torch(oracle):
    serialized = oracle.layers.serialize(oracle.layers.Lambda(lambda x: x * 2 + 1, name="lam"))
    with pytest.raises(ValueError, match="safe_mode=False"):
        layers.deserialize(serialized)
    layer = serialization_lib.deserialize_keras_object(serialized, safe_mode=False)
    assert isinstance(layer, Lambda) and layer.name == "lam"
    np.testing.assert_allclose(layer(torch.as_tensor(X)).numpy(), X * 2 + 1, rtol=1e-6)


def test_keras2_config_and_bad_bytecode():
    code = Lambda(lambda x: x + 1).get_config()["function"]["config"]["code"]
    legacy = {
        "name": "lambda_old",
        "function": [code, None, None],
        "function_type": "lambda",
        "module": "__main__",
        "output_shape": [4],
        "output_shape_type": "raw",
        "output_shape_module": None,
        "arguments": {},
    }
    with pytest.raises(ValueError, match="safe_mode=False"):
        Lambda.from_config(legacy)
    layer = Lambda.from_config(legacy, safe_mode=False)
    np.testing.assert_allclose(layer(X).numpy(), X + 1)
    assert layer.compute_output_shape((None, 2)) == (None, 4)
    garbage = {"code": "AAAA", "defaults": None, "closure": None}
    bad = {"name": "bad", "function": {"class_name": "__lambda__", "config": garbage}}
    with pytest.raises(ValueError, match="bytecode"):
        Lambda.from_config(bad, safe_mode=False)
