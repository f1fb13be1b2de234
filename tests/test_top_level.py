"""Top-level Keras names: scopes (name, device, stateless, symbolic, remat), ``Operation``,
``Function``, ``version`` and the class aliases."""

import numpy as np
import pytest
import torch

import lamina


@pytest.mark.oracle
def test_every_top_level_keras_class_and_function_resolves(oracle):
    names = [
        "Layer", "InputSpec", "KerasTensor", "Operation", "Function", "Initializer", "Regularizer",
        "DTypePolicy", "FloatDTypePolicy", "name_scope", "device", "version", "remat", "RematScope",
        "StatelessScope", "SymbolicScope", "Variable", "Input", "Model", "Sequential", "Loss",
        "Metric", "Optimizer",
    ]
    for name in names:
        assert hasattr(oracle, name) and hasattr(lamina, name), name
    assert lamina.Layer is lamina.layers.Layer and lamina.InputSpec is lamina.layers.InputSpec
    assert lamina.Initializer is lamina.initializers.Initializer
    assert lamina.Regularizer is lamina.regularizers.Regularizer
    assert issubclass(lamina.FloatDTypePolicy, lamina.DTypePolicy)
    assert lamina.version() == lamina.__version__
    assert isinstance(oracle.version(), str)


@pytest.mark.oracle
def test_name_scope_prefixes_variable_paths_like_keras(oracle):
    for lib in (lamina, oracle):
        with lib.name_scope("outer"):
            with lib.name_scope("inner"):
                v = lib.Variable(np.zeros(2, "float32"), name="w")
            with lib.name_scope("other", override_parent="root"):
                u = lib.Variable(np.zeros(2, "float32"), name="u")
        assert v.path == "outer/inner/w", lib
        assert u.path == "root/other/u", lib
        assert lib.Variable(np.zeros(1, "float32"), name="x").path == "x"
        caller = object()
        with lib.name_scope("block", caller=caller):
            with lib.name_scope("block", caller=caller):
                w = lib.Variable(np.zeros(1, "float32"), name="w")
        assert w.path == "block/w", lib
        dense = lib.layers.Dense(2, name="d")
        with lib.name_scope("block2"):
            dense.build((None, 3))
        assert dense.kernel.path == "block2/d/kernel", lib
    with pytest.raises(ValueError, match="cannot contain"):
        lamina.name_scope("a/b")


def test_device_scope_places_new_variables_and_tensors():
    with lamina.device("cpu") as dev:
        assert dev == torch.device("cpu")
        v = lamina.Variable(np.zeros(2, "float32"))
        t = lamina.ops.ones((2,))
        assert lamina.backend.get_device() == torch.device("cpu")
    assert v.device.type == "cpu" and t.device.type == "cpu"
    with pytest.raises(ValueError, match="device_name"):
        with lamina.device(3):
            pass
    with pytest.raises(ValueError, match="not a device"):
        with lamina.device("tpu:banana"):
            pass


def test_device_scope_accepts_keras_gpu_spelling():
    from lamina.backend.device_scope import _parse

    assert _parse("gpu:1") == torch.device("cuda:1")
    assert _parse("GPU") == torch.device("cuda")


def test_stateless_scope_reads_mapped_values_and_collects_assignments():
    layer = lamina.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
    x = np.ones((1, 3), "float32")
    layer(x)
    kernel, bias = layer.kernel, layer.bias
    mapping = [(kernel, np.full((3, 2), 2.0)), (bias, np.ones(2))]
    with lamina.StatelessScope(state_mapping=mapping) as scope:
        out = layer(x)
        kernel.assign(np.zeros((3, 2)))
        bias.assign_add(np.ones(2))
        after = layer(x)
        assert lamina.backend.legacy.get_value(bias).tolist() == [2.0, 2.0]
    np.testing.assert_allclose(out.detach().numpy(), [[7.0, 7.0]])
    np.testing.assert_allclose(after.detach().numpy(), [[2.0, 2.0]])
    # The variables themselves never changed; the scope holds their new values.
    np.testing.assert_allclose(kernel.numpy(), np.ones((3, 2)))
    np.testing.assert_allclose(bias.numpy(), np.zeros(2))
    np.testing.assert_allclose(scope.get_current_value(kernel).numpy(), np.zeros((3, 2)))
    np.testing.assert_allclose(scope.get_current_value(bias).numpy(), [2.0, 2.0])
    assert scope.get_current_value(lamina.Variable(np.zeros(1))) is None


def test_stateless_scope_batch_norm_updates_are_collected():
    bn = lamina.layers.BatchNormalization()
    x = np.random.default_rng(0).normal(3.0, 1.0, size=(16, 4)).astype("float32")
    bn(x)
    with lamina.StatelessScope() as scope:
        bn(x, training=True)
    np.testing.assert_allclose(bn.moving_mean.numpy(), np.zeros(4))
    new_mean = scope.get_current_value(bn.moving_mean).numpy()
    np.testing.assert_allclose(new_mean, 0.01 * x.mean(0), rtol=1e-4)


def test_stateless_scope_collects_losses_and_validates_mapping():
    layer = lamina.layers.Dense(2, activity_regularizer="l2")
    with lamina.StatelessScope(collect_losses=True) as scope:
        layer(np.ones((1, 3), "float32"))
    assert len(scope.losses) == 1
    v = lamina.Variable(np.zeros(2, "float32"))
    with pytest.raises(ValueError, match="Variable instances"):
        lamina.StatelessScope([(np.zeros(2), np.ones(2))])
    with pytest.raises(ValueError, match="shape"):
        lamina.StatelessScope([(v, np.ones(3))])


@pytest.mark.oracle
def test_stateless_scope_matches_keras(oracle):
    outs = []
    for lib in (lamina, oracle):
        v = lib.Variable(np.array([1.0, 2.0], "float32"))
        with lib.StatelessScope([(v, np.array([10.0, 20.0], "float32"))]) as scope:
            read = np.asarray(lib.ops.convert_to_numpy(v.value))
            v.assign_sub(np.array([1.0, 1.0], "float32"))
        outs.append((read, np.asarray(lib.ops.convert_to_numpy(scope.get_current_value(v))),
                     np.asarray(lib.ops.convert_to_numpy(v.value))))
    for ours, theirs in zip(*outs):
        np.testing.assert_allclose(ours, theirs)


def test_symbolic_scope_skips_assignments_and_seed_draws():
    v = lamina.Variable(np.zeros(2, "float32"))
    gen = lamina.random.SeedGenerator(5)
    with lamina.SymbolicScope():
        v.assign(np.ones(2))
        gen.next()
    assert v.numpy().tolist() == [0.0, 0.0] and gen.state.numpy().tolist() == [5, 0]


def test_remat_function_gives_the_same_values_and_gradients():
    x = torch.randn(4, 5, requires_grad=True)
    f = lambda t: torch.sin(t).exp().sum()  # noqa: E731
    y = lamina.remat(f)(x)
    (grad,) = torch.autograd.grad(y, x)
    x2 = x.detach().clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(f(x2), x2)
    torch.testing.assert_close(grad, expected)
    with pytest.raises(TypeError, match="callable"):
        lamina.remat(3)


@pytest.mark.parametrize(
    "kwargs",
    [{"mode": "full"}, {"mode": "activations"}, {"mode": "larger_than", "output_size_threshold": 4},
     {"mode": "list_of_layers", "layer_names": ["remat_dense"]}, {"mode": None}],
)
def test_remat_scope_layers_train_like_plain_layers(kwargs, monkeypatch):
    import torch.utils.checkpoint

    calls = []
    real = torch.utils.checkpoint.checkpoint
    monkeypatch.setattr(torch.utils.checkpoint, "checkpoint", lambda *a, **k: calls.append(1) or real(*a, **k))
    lamina.utils.set_random_seed(1)
    plain = lamina.layers.Dense(8, activation="relu", name="plain_dense")
    with lamina.RematScope(**kwargs):
        layer = lamina.layers.Dense(8, activation="relu", name="remat_dense")
    x = torch.randn(3, 5)
    plain(x)
    layer(x)
    layer.set_weights(plain.get_weights())
    for model_layer in (plain, layer):
        model_layer(x).square().sum().backward()
    torch.testing.assert_close(layer.kernel.grad, plain.kernel.grad)
    assert bool(calls) == (kwargs["mode"] is not None)


def test_remat_replays_dropout_masks_in_the_recomputation():
    lamina.utils.set_random_seed(2)
    with lamina.RematScope(mode="full"):
        block = lamina.Sequential([lamina.layers.Dense(16), lamina.layers.Dropout(0.5)])
    x = torch.randn(8, 4)
    out = block(x, training=True)
    # Gradient of sum(out * w) w.r.t. the dense output is the dropout mask / keep: only correct if
    # the backward pass recomputed the same mask.
    mask = (out != 0).float()
    dense_out = block.layers[0](x)
    dense_out.retain_grad()
    out2 = block.layers[1](dense_out, training=True)
    assert out.shape == out2.shape
    out.sum().backward()
    weight_grad = block.layers[0].kernel.grad.clone()
    expected = x.T @ (mask * 2.0)
    torch.testing.assert_close(weight_grad, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_remat_scope_validates_mode_like_keras(oracle):
    for lib in (lamina, oracle):
        with pytest.raises(ValueError, match="Invalid mode"):
            lib.RematScope(mode="bogus")


class _Scale(lamina.Operation):
    def __init__(self, factor, name=None):
        super().__init__(name=name)
        self.factor = factor

    def call(self, x):
        return x * self.factor


def test_operation_eager_symbolic_and_config():
    op = _Scale(3.0)
    np.testing.assert_allclose(op(torch.ones(2)).numpy(), [3.0, 3.0])
    x = lamina.KerasTensor((None, 4))
    y = op(x)
    assert lamina.backend.is_keras_tensor(y) and y.shape == (None, 4)
    assert op.input is x and op.output is y
    config = op.get_config()
    assert config == {"name": op.name, "factor": 3.0}
    assert _Scale.from_config(config).factor == 3.0
    with pytest.raises(NotImplementedError):
        lamina.Operation()(torch.ones(1))


@pytest.mark.oracle
def test_function_runs_a_graph_like_keras(oracle):
    rng = np.random.default_rng(0)
    a_val, b_val = rng.random((4, 2, 3)).astype("float32"), rng.random((4, 2, 3)).astype("float32")
    results = []
    for lib in (lamina, oracle):
        a, b = lib.KerasTensor(shape=(None, 2, 3)), lib.KerasTensor(shape=(None, 2, 3))
        hidden = a + b
        out = {"sig": lib.ops.sigmoid(hidden), "sum": lib.ops.sum(hidden * b, axis=-1)}
        fn = lib.Function(inputs=[a, b], outputs=out)
        results.append(fn([a_val, b_val]))
        assert len(fn.inputs) == 2 and len(fn.outputs) == 2
    for key in ("sig", "sum"):
        np.testing.assert_allclose(
            lamina.ops.convert_to_numpy(results[0][key]), np.asarray(results[1][key]), rtol=1e-6
        )


def test_function_with_layers_symbolic_call_and_errors():
    inputs = lamina.Input((3,))
    dense = lamina.layers.Dense(2)
    fn = lamina.Function(inputs, dense(inputs) * 2.0)
    x = np.ones((5, 3), "float32")
    np.testing.assert_allclose(fn(x).detach().numpy(), 2.0 * dense(x).detach().numpy(), rtol=1e-6)
    assert dense in fn.operations
    symbolic_out = fn(lamina.KerasTensor((None, 3)))
    assert symbolic_out.shape == (None, 2)
    stray = lamina.KerasTensor((None, 3))
    with pytest.raises(ValueError, match="Graph disconnected"):
        lamina.Function(inputs, lamina.ops.sigmoid(stray))
    with pytest.raises(ValueError, match="expects 1 input"):
        fn([x, x])
    with pytest.raises(ValueError, match="cannot be empty"):
        lamina.Function([], [])
