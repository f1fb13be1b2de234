"""``torch.export.export`` (non-strict and strict) and torch's functional tools on Lamina models."""

import copy
import inspect
import io

import numpy as np
import pytest
import torch
from torch.export import Dim

import lamina
from lamina import layers


def _conv_bn_sequential():
    model = lamina.Sequential(
        [
            lamina.Input((8, 8, 3)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.Flatten(),
            layers.Dense(5),
        ]
    )
    return model, torch.randn(3, 8, 8, 3)


def _lstm_sequential():
    model = lamina.Sequential([lamina.Input((6, 4)), layers.LSTM(5, return_sequences=True), layers.Dense(2)])
    return model, torch.randn(3, 6, 4)


def _attention_functional():
    tokens = lamina.Input((7,), dtype="int32")
    x = layers.Embedding(20, 8)(tokens)
    x = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    outputs = layers.Dense(3)(layers.GlobalAveragePooling1D()(x))
    return lamina.Model(tokens, outputs), torch.randint(0, 20, (3, 7))


class _Subclassed(lamina.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(4, activation="relu")
        self.out = layers.Dense(2)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


def _subclassed():
    model = _Subclassed()
    x = torch.randn(3, 5)
    model(x)
    return model, x


MODELS = {
    "sequential_conv_bn": _conv_bn_sequential,
    "sequential_lstm": _lstm_sequential,
    "functional_attention": _attention_functional,
    "subclassed": _subclassed,
}


def _batch_of(x, n):
    return x[:1].expand(n, *x.shape[1:]).clone() if n > x.shape[0] else x[:n]


@pytest.mark.parametrize("strict", [False, True], ids=["nonstrict", "strict"])
@pytest.mark.parametrize("name", list(MODELS))
def test_export_matches_eager_with_dynamic_batch(name, strict):
    model, x = MODELS[name]()
    program = torch.export.export(model, (x,), dynamic_shapes=({0: Dim("batch")},), strict=strict)
    exported = program.module()
    for batch in (1, 3, 5):
        xb = _batch_of(x, batch)
        np.testing.assert_allclose(exported(xb).detach().numpy(), model(xb).detach().numpy(), atol=1e-6)


def test_default_nonstrict_export_of_dense_issue_repro():
    # Issue 11 item 13: "Unable to cast NotImplemented to Tensor" in Dense's addmm.
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])
    x = torch.randn(2, 4)
    program = torch.export.export(model, (x,))
    assert [s.target for s in program.graph_signature.input_specs if s.target] == ["dense.kernel", "dense.bias"]
    np.testing.assert_allclose(program.module()(x).detach().numpy(), model(x).detach().numpy(), atol=1e-6)


def test_lstm_export_keeps_the_fused_kernel():
    model, x = _lstm_sequential()
    program = torch.export.export(model, (x,))
    targets = {str(node.target) for node in program.graph.nodes}
    assert any("lstm" in t for t in targets), targets


def test_export_of_a_single_layer_and_a_variable_alias():
    class Scale(layers.Layer):
        def build(self, input_shape):
            # The Keras idiom: the attribute name differs from the variable's name.
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

        def call(self, inputs):
            return inputs * self.w

    layer = Scale()
    x = torch.randn(2, 3)
    layer(x)
    program = torch.export.export(layer, (x,))
    substitute = {"scale": torch.full((3,), 2.0)}
    np.testing.assert_allclose(program.module()(x).detach().numpy(), 1.0 * x.numpy(), atol=1e-6)
    out = torch.func.functional_call(layer, substitute, (x,))
    np.testing.assert_allclose(out.detach().numpy(), 2.0 * x.numpy(), atol=1e-6)
    assert layer.w is layer._parameters["scale"]


def test_functional_call_uses_the_substituted_weights():
    # Before the fix the plain-attribute copy of each weight made `functional_call` silently
    # run with the model's own weights.
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    x = torch.randn(4, 3)
    reference = model(x).detach()
    zeros = {k: torch.zeros_like(v) for k, v in model.named_parameters()}
    assert float(torch.func.functional_call(model, zeros, (x,)).abs().max()) == 0.0
    # The model's own weights are back afterwards.
    dense = model.layers[0]
    assert dense.kernel is dense._parameters["kernel"]
    np.testing.assert_allclose(model(x).detach().numpy(), reference.numpy())


def test_parameter_mirror_survives_deepcopy_and_pickle():
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    x = torch.randn(4, 3)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    for clone in (copy.deepcopy(model), torch.load(buffer, weights_only=False)):
        dense = clone.layers[0]
        assert dense._parameters._owner() is dense
        assert dense.kernel is dense._parameters["kernel"]
        assert dense.kernel is not model.layers[0].kernel
        zeros = {k: torch.zeros_like(v) for k, v in clone.named_parameters()}
        assert float(torch.func.functional_call(clone, zeros, (x,)).abs().max()) == 0.0
        np.testing.assert_allclose(clone(x).detach().numpy(), model(x).detach().numpy())


def test_deleting_a_parameter_removes_its_attribute():
    dense = layers.Dense(2)
    dense(torch.randn(1, 3))
    del dense._parameters["bias"]
    assert "bias" not in dense.__dict__


def test_forward_signature_is_calls():
    model, _ = _conv_bn_sequential()
    assert list(inspect.signature(model.forward).parameters) == ["inputs", "training", "mask"]
    assert list(inspect.signature(layers.Dense(2).forward).parameters) == ["inputs"]

    class OwnForward(layers.Layer):
        def forward(self, x, y):
            return x + y

    class Child(OwnForward):
        def call(self, inputs):
            return inputs

    # A user's own `forward` is never replaced, in its class or below.
    assert list(inspect.signature(Child().forward).parameters) == ["x", "y"]


def test_torch_compile_still_works():
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2, activation="relu")])
    x = torch.randn(4, 3)
    compiled = torch.compile(model, backend="eager")
    np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy(), atol=1e-6)
