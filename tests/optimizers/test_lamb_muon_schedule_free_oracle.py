"""Lamb, Muon and ScheduleFreeAdamW against Keras 3 (JAX): same weights and state after N steps."""

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers

STEPS = 6
# Two dense-like kernels of one shape (Muon orthogonalizes them as one batch), a tall kernel, an
# "embedding" matrix, a conv kernel and a bias: Muon sends the first three to its Newton-Schulz
# step and the others to AdamW.
SHAPES = {
    "kernel": (5, 3),
    "other_kernel": (5, 3),
    "tall_kernel": (3, 7),
    "embedding_table": (4, 3),
    "conv_kernel": (2, 2, 3, 2),
    "bias": (3,),
}

CASES = [
    ("Lamb", {}),
    ("Lamb", {"beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-3, "weight_decay": 0.05}),
    ("Lamb", {"gradient_accumulation_steps": 2, "use_ema": True}),
    ("ScheduleFreeAdamW", {}),
    ("ScheduleFreeAdamW", {"beta_1": 0.8, "warmup_steps": 4, "weight_decay": 0.01}),
    ("ScheduleFreeAdamW", {"clipnorm": 0.5, "epsilon": 1e-4}),
    ("Muon", {}),
    ("Muon", {"nesterov": False, "rms_rate": None, "ns_steps": 3, "momentum": 0.9}),
    ("Muon", {"exclude_layers": ["tall"], "exclude_embeddings": False, "adam_lr_ratio": 0.5}),
    ("Muon", {"weight_decay": None, "adam_weight_decay": 0.1, "global_clipnorm": 1.0}),
    ("Muon", {"use_ema": True, "ema_overwrite_frequency": 3}),
]
# The largest differences observed are 5e-7 (a few float32 ulps); the bound leaves headroom.
ATOL = {"Lamb": 2e-6, "ScheduleFreeAdamW": 2e-6, "Muon": 2e-6}


def _data(seed=0):
    rng = np.random.default_rng(seed)
    init = {name: rng.standard_normal(shape).astype("float32") for name, shape in SHAPES.items()}
    grads = [
        [rng.standard_normal(shape).astype("float32") for shape in SHAPES.values()]
        for _ in range(STEPS)
    ]
    return init, grads


def _run_both(oracle, class_name, kwargs):
    kwargs = {"learning_rate": 0.05, "name": "opt", **kwargs}
    init, grads = _data()
    k_vars = [oracle.Variable(value, name=name) for name, value in init.items()]
    k_opt = getattr(oracle.optimizers, class_name)(**kwargs)
    for step in grads:
        k_opt.apply(step, k_vars)
    l_vars = [lamina.Variable(initializer=value, name=name) for name, value in init.items()]
    l_opt = getattr(optimizers, class_name)(**kwargs)
    for step in grads:
        l_opt.apply([torch.from_numpy(g) for g in step], l_vars)
    return k_opt, k_vars, l_opt, l_vars


def _max_abs_diff(k_vars, l_vars):
    return max(float(np.max(np.abs(v.numpy() - np.asarray(k.numpy())))) for k, v in zip(k_vars, l_vars))


@pytest.mark.oracle
@pytest.mark.parametrize(
    "class_name, kwargs", CASES, ids=[n + "".join(f"-{k}" for k in kw) for n, kw in CASES]
)
def test_weights_and_state_match_keras(oracle, class_name, kwargs):
    k_opt, k_vars, l_opt, l_vars = _run_both(oracle, class_name, kwargs)
    atol = ATOL[class_name]
    assert _max_abs_diff(k_vars, l_vars) < atol
    # The weights really moved (a no-op update would agree trivially).
    init, _ = _data()
    assert all(not np.allclose(v.numpy(), x) for v, x in zip(l_vars, init.values()))
    k_state, l_state = k_opt.variables, l_opt.variables
    assert [v.path for v in l_state] == [v.path for v in k_state]
    assert [tuple(v.shape) for v in l_state] == [tuple(v.shape) for v in k_state]
    assert _max_abs_diff(k_state, l_state) < atol
    if l_opt.use_ema:
        k_opt.finalize_variable_values(k_vars)
        l_opt.finalize_variable_values(l_vars)
        assert _max_abs_diff(k_vars, l_vars) < atol


@pytest.mark.oracle
@pytest.mark.parametrize("class_name", ["Lamb", "Muon", "ScheduleFreeAdamW"])
def test_config_matches_keras_and_round_trips(oracle, class_name):
    k_config = getattr(oracle.optimizers, class_name)(name="opt").get_config()
    l_opt = getattr(optimizers, class_name)(name="opt")
    l_config = l_opt.get_config()
    assert l_config == k_config
    rebuilt = optimizers.deserialize(optimizers.serialize(l_opt))
    assert type(rebuilt) is type(l_opt) and rebuilt.get_config() == l_config
    if class_name != "Lamb":  # Keras leaves Lamb out of the names `get` resolves
        assert type(optimizers.get(class_name.lower())) is type(l_opt)


def test_muon_routes_variables_like_keras():
    opt = optimizers.Muon(exclude_layers=["out.*kernel"])
    def var(shape, name):
        v = lamina.Variable(initializer=np.zeros(shape, "float32"), name=name)
        return v
    assert not opt._should_use_adamw(var((3, 4), "kernel"))
    assert opt._should_use_adamw(var((3,), "bias"))
    assert opt._should_use_adamw(var((2, 2, 3, 4), "kernel"))
    assert opt._should_use_adamw(var((3, 4), "Embedding_matrix"))
    assert opt._should_use_adamw(var((3, 4), "out_kernel"))


def test_newton_schulz_makes_singular_values_near_one():
    from lamina.optimizers.muon import zeropower_via_newton_schulz

    x = torch.randn(16, 40, generator=torch.Generator().manual_seed(0))
    s = torch.linalg.svdvals(zeropower_via_newton_schulz(x, 5))
    assert 0.6 < float(s.min()) and float(s.max()) < 1.25
    tall = zeropower_via_newton_schulz(x.T, 5)
    torch.testing.assert_close(tall, zeropower_via_newton_schulz(x, 5).T)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        zeropower_via_newton_schulz(torch.ones(3), 5)


def test_invalid_arguments_are_refused():
    with pytest.raises(TypeError, match="exclude_layers"):
        optimizers.Muon(exclude_layers="dense")
    with pytest.raises(ValueError, match="warmup_steps"):
        optimizers.ScheduleFreeAdamW(warmup_steps=-1)


def test_lamb_leaves_zero_weights_to_the_plain_adam_direction():
    # A zero variable has no norm to trust: the ratio is 1 and the step is lr * m_hat / v_hat.
    w = lamina.Variable(initializer=np.zeros(3, "float32"), name="w")
    optimizers.Lamb(learning_rate=0.1).apply([torch.tensor([1.0, -2.0, 0.0])], [w])
    np.testing.assert_allclose(w.numpy(), [-0.1, 0.1, 0.0], atol=1e-6)


def _model(module):
    x = module.Input((4,), name="x")
    h = module.layers.Dense(5, activation="tanh", name="hidden")(x)
    return module.Model(x, module.layers.Dense(2, name="out")(h), name="m")


@pytest.mark.oracle
@pytest.mark.parametrize("class_name", ["Lamb", "Muon", "ScheduleFreeAdamW"])
def test_optimizer_state_moves_between_keras_and_lamina_files(oracle, class_name, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 4)).astype("float32")
    y = rng.standard_normal((16, 2)).astype("float32")
    ref = _model(oracle)
    ref.compile(optimizer=getattr(oracle.optimizers, class_name)(learning_rate=0.01), loss="mse")
    ref.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    ref.save(tmp_path / "keras.keras")

    model = lamina.models.load_model(tmp_path / "keras.keras")
    assert type(model.optimizer) is getattr(optimizers, class_name)
    assert [v.path for v in model.optimizer.variables] == [v.path for v in ref.optimizer.variables]
    for a, b in zip(model.optimizer.variables, ref.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), np.asarray(b.numpy()))
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    ref.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)

    model.save(tmp_path / "lamina.keras")
    back = oracle.models.load_model(tmp_path / "lamina.keras")
    assert int(back.optimizer.iterations.numpy()) == 4
    for a, b in zip(model.optimizer.variables, back.optimizer.variables):
        np.testing.assert_allclose(a.numpy(), np.asarray(b.numpy()), rtol=1e-5, atol=1e-6)
