"""The Optimizer API: apply paths, clipping, decay, EMA, learning rate, state, configs, errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers

ALL_CLASSES = [
    optimizers.SGD, optimizers.Adam, optimizers.AdamW, optimizers.RMSprop, optimizers.Adagrad,
    optimizers.Adadelta, optimizers.Adamax, optimizers.Nadam, optimizers.Ftrl, optimizers.Lion,
    optimizers.Adafactor,
]


def _vars(*values):
    return [lamina.Variable(initializer=np.asarray(v, "float32"), name=f"v{i}") for i, v in enumerate(values)]


def _t(*values):
    return [torch.tensor(v, dtype=torch.float32) for v in values]


# --- apply paths ----------------------------------------------------------------------------------
def test_apply_gradients_matches_apply_and_returns_iterations():
    a, b = _vars([1.0, 2.0]), _vars([1.0, 2.0])
    opt_a, opt_b = optimizers.Adam(0.1), optimizers.Adam(0.1)
    for _ in range(3):
        opt_a.apply(_t([0.5, -1.0]), a)
        result = opt_b.apply_gradients(zip(_t([0.5, -1.0]), b))
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    assert result is opt_b.iterations and int(result) == 3


def test_apply_without_variables_uses_the_built_list():
    w = _vars([1.0], [2.0])
    opt = optimizers.SGD(0.5)
    with pytest.raises(ValueError, match="must already be built"):
        opt.apply(_t([1.0], [1.0]))
    opt.build(w)
    opt.apply(_t([1.0], [2.0]))
    np.testing.assert_allclose([w[0].numpy()[0], w[1].numpy()[0]], [0.5, 1.0])
    with pytest.raises(ValueError, match="gradients must match"):
        opt.apply(_t([1.0]))


def test_a_subset_of_the_built_variables_can_be_updated():
    w = _vars([1.0], [2.0])
    opt = optimizers.SGD(0.5, momentum=0.5)
    opt.build(w)
    opt.apply(_t([1.0]), [w[1]])
    np.testing.assert_allclose([w[0].numpy()[0], w[1].numpy()[0]], [1.0, 1.5])
    assert int(opt.iterations) == 1


def test_unknown_variable_and_all_none_gradients_raise():
    opt = optimizers.SGD()
    w = _vars([1.0])
    opt.apply(_t([1.0]), w)
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply(_t([1.0]), _vars([1.0]))
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply([None], w)


def test_empty_gradient_list_is_a_no_op():
    opt = optimizers.SGD()
    opt.apply([], [])
    assert not opt.built and int(opt.iterations) == 0


def test_numpy_and_float64_gradients_are_cast_to_the_variable():
    w = _vars([1.0, 1.0])
    optimizers.SGD(0.5).apply([np.array([1.0, 2.0])], w)
    assert w[0].dtype == torch.float32
    np.testing.assert_allclose(w[0].numpy(), [0.5, 0.0])


def test_update_runs_under_no_grad_on_trainable_parameters():
    layer = lamina.layers.Dense(2)
    layer.build((None, 3))
    loss = layer(torch.ones(1, 3)).sum()
    loss.backward()
    before = layer.kernel.detach().clone()
    opt = optimizers.Adam(0.1)
    opt.apply([v.grad for v in layer.trainable_weights], layer.trainable_weights)
    assert layer.kernel.requires_grad and not torch.equal(before, layer.kernel.detach())
    assert [v.path for v in opt.variables][2:4] == ["adam/dense_kernel_momentum", "adam/dense_kernel_velocity"]


def test_mixed_dtypes_update_like_separate_groups():
    values = [np.linspace(-1, 1, 6).reshape(2, 3), np.linspace(0.5, 2, 3)]
    mixed = [lamina.Variable(initializer=values[0], dtype="float64", name="a"),
             lamina.Variable(initializer=values[1], dtype="float32", name="b")]
    alone = [lamina.Variable(initializer=values[0], dtype="float64", name="a"),
             lamina.Variable(initializer=values[1], dtype="float32", name="b")]
    opt = optimizers.Adam(0.1)
    singles = [optimizers.Adam(0.1), optimizers.Adam(0.1)]
    for step in range(3):
        grads = [torch.full((2, 3), 0.1 * (step + 1), dtype=torch.float64), torch.full((3,), -0.3)]
        opt.apply(grads, mixed)
        for single, g, v in zip(singles, grads, alone):
            single.apply([g], [v])
    assert mixed[0].dtype == torch.float64
    for m, a in zip(mixed, alone):
        np.testing.assert_array_equal(m.numpy(), a.numpy())


def test_no_host_sync_in_the_update(monkeypatch):
    """The step counter, the schedule and the masks stay tensors: nothing is read back."""
    w = _vars(np.ones((2, 2)), np.ones(2))
    schedule = optimizers.schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=2)
    opt = optimizers.Nadam(schedule, use_ema=True, ema_overwrite_frequency=2,
                           gradient_accumulation_steps=2, global_clipnorm=1.0, weight_decay=0.01)
    opt.apply(_t(np.ones((2, 2)), np.ones(2)), w)

    def fail(*args, **kwargs):
        raise AssertionError("host sync in the optimizer step")

    for name in ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__"):
        monkeypatch.setattr(torch.Tensor, name, fail)
    for _ in range(3):
        opt.apply(_t(np.ones((2, 2)), np.ones(2)), w)
    monkeypatch.undo()
    assert int(opt._iterations) == 4


# --- clipping, loss scale, weight decay -----------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"clipnorm": 1.0}, [[-0.6, -0.8], [-0.5]]),  # norms 5 and 0.5: only the first is rescaled
        ({"global_clipnorm": 1.0}, [[-3 / 5.025, -4 / 5.025], [-0.5 / 5.025]]),
        ({"clipvalue": 0.4}, [[-0.4, -0.4], [-0.4]]),
        ({"loss_scale_factor": 2.0}, [[-1.5, -2.0], [-0.25]]),
    ],
)
def test_gradient_transformations(kwargs, expected):
    w = _vars([0.0, 0.0], [0.0])
    grads = _t([3.0, 4.0], [0.5])
    originals = [g.clone() for g in grads]
    optimizers.SGD(1.0, **kwargs).apply(grads, w)
    np.testing.assert_allclose(w[0].numpy(), expected[0], rtol=1e-4)
    np.testing.assert_allclose(w[1].numpy(), expected[1], rtol=1e-4)
    for g, o in zip(grads, originals):
        assert torch.equal(g, o)  # the caller's gradients are left alone


def test_global_clipnorm_with_infinite_norm_gives_nan():
    w = _vars([1.0])
    optimizers.SGD(1.0, global_clipnorm=1.0).apply(_t([float("inf")]), w)
    assert np.isnan(w[0].numpy()).all()


def test_scale_loss():
    assert optimizers.SGD(loss_scale_factor=8.0).scale_loss(2.0) == 16.0
    assert optimizers.SGD().scale_loss(2.0) == 2.0


@pytest.mark.oracle
def test_weight_decay_exclusions_match_keras(oracle):
    init = {"kernel": np.full((2, 2), 2.0, "float32"), "bias": np.full((2,), 2.0, "float32"),
            "scale": np.full((2,), 2.0, "float32")}
    grads = [np.full((2, 2), 0.5, "float32"), np.full((2,), -0.5, "float32"), np.full((2,), 0.1, "float32")]
    k_vars = [oracle.Variable(v, name=n) for n, v in init.items()]
    l_vars = [lamina.Variable(initializer=v, name=n) for n, v in init.items()]
    k_opt = oracle.optimizers.AdamW(0.1, weight_decay=0.5)
    l_opt = optimizers.AdamW(0.1, weight_decay=0.5)
    k_opt.exclude_from_weight_decay(var_list=[k_vars[2]], var_names=["bias"])
    l_opt.exclude_from_weight_decay(var_list=[l_vars[2]], var_names=["bias"])
    for _ in range(3):
        k_opt.apply(grads, k_vars)
        l_opt.apply([torch.from_numpy(g) for g in grads], l_vars)
    for k, v in zip(k_vars, l_vars):
        np.testing.assert_allclose(v.numpy(), np.asarray(k.numpy()), rtol=1e-5, err_msg=v.name)


def test_weight_decay_is_applied_before_the_update():
    w = _vars([2.0])
    optimizers.SGD(0.1, weight_decay=0.5).apply(_t([1.0]), w)
    # decay: 2 - 2 * 0.5 * 0.1 = 1.9, then the gradient step: 1.9 - 0.1
    np.testing.assert_allclose(w[0].numpy(), [1.8], rtol=1e-6)


# --- EMA, accumulation, constraints ---------------------------------------------------------------
def test_ema_and_finalize_variable_values():
    w = _vars([0.0])
    opt = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5)
    for _ in range(3):
        opt.apply(_t([-1.0]), w)
    # weights 1, 2, 3; averages 1 (first step copies), 1.5, 2.25
    assert [v.path for v in opt.variables][-1] == "sgd/v0_average"
    np.testing.assert_allclose(opt.variables[-1].numpy(), [2.25])
    np.testing.assert_allclose(w[0].numpy(), [3.0])
    opt.finalize_variable_values(w)
    np.testing.assert_allclose(w[0].numpy(), [2.25])
    with pytest.raises(ValueError, match="length of model variables"):
        opt.finalize_variable_values(w + _vars([0.0]))


def test_finalize_is_a_no_op_without_ema():
    w = _vars([1.0])
    opt = optimizers.SGD()
    opt.apply(_t([1.0]), w)
    value = w[0].numpy().copy()
    opt.finalize_variable_values(w)
    np.testing.assert_array_equal(w[0].numpy(), value)


def test_gradient_accumulation_updates_every_n_calls_with_the_mean():
    w = _vars([0.0])
    opt = optimizers.SGD(1.0, gradient_accumulation_steps=3)
    for grad, expected in zip([1.0, 2.0, 6.0, 3.0], [0.0, 0.0, -3.0, -3.0]):
        opt.apply(_t([grad]), w)
        np.testing.assert_allclose(w[0].numpy(), [expected])
    assert int(opt.iterations) == 1 and int(opt._iterations) == 4
    np.testing.assert_allclose(opt.variables[-1].numpy(), [3.0])  # the accumulator


def test_constraint_runs_after_each_update():
    layer = lamina.layers.Dense(2, kernel_constraint="non_neg", use_bias=False)
    layer.build((None, 2))
    layer.kernel.assign(np.ones((2, 2)))
    optimizers.SGD(1.0).apply([torch.full((2, 2), 3.0)], [layer.kernel])
    np.testing.assert_array_equal(layer.kernel.numpy(), np.zeros((2, 2)))


def test_overwrite_with_gradient_variables_take_the_gradient():
    w = _vars([1.0], [1.0])
    w[1].overwrite_with_gradient = True
    opt = optimizers.Adam(0.1)
    opt.apply(_t([1.0], [7.0]), w)
    np.testing.assert_allclose(w[1].numpy(), [7.0])
    assert "adam/v1_momentum" not in [v.path for v in opt.variables]


# --- learning rate and iterations -----------------------------------------------------------------
def test_learning_rate_variable_is_settable_and_readable():
    opt = optimizers.Adam(0.01)
    assert isinstance(opt.learning_rate, lamina.Variable)
    assert opt.learning_rate.path == "adam/learning_rate" and not opt.learning_rate.trainable
    assert float(opt.learning_rate) == pytest.approx(0.01)
    opt.learning_rate = 0.5
    assert float(opt.learning_rate) == 0.5 and opt.get_config()["learning_rate"] == 0.5
    opt.learning_rate = optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)
    assert [v.path for v in opt.variables] == ["adam/iteration"]
    assert float(opt.learning_rate) == pytest.approx(0.1)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


def test_schedule_is_evaluated_at_the_real_step():
    w = _vars([0.0])
    opt = optimizers.SGD(optimizers.schedules.ExponentialDecay(1.0, 1, 0.5))
    for _ in range(3):
        opt.apply(_t([-1.0]), w)
    np.testing.assert_allclose(w[0].numpy(), [1.75])  # 1 + 0.5 + 0.25
    assert float(opt.learning_rate) == pytest.approx(0.125)


def test_callable_learning_rate():
    w = _vars([0.0])
    rates = iter([0.5, 0.25])
    opt = optimizers.SGD(lambda: next(rates))
    opt.apply(_t([-1.0]), w)
    opt.apply(_t([-1.0]), w)
    np.testing.assert_allclose(w[0].numpy(), [0.75])
    assert [v.path for v in opt.variables] == ["sgd/iteration"]


def test_iterations_variable():
    opt = optimizers.SGD()
    assert isinstance(opt.iterations, lamina.Variable)
    assert opt.iterations.dtype == torch.int64 and not opt.iterations.trainable
    assert opt.iterations.path == "sgd/iteration"


# --- state ----------------------------------------------------------------------------------------
def test_save_and_load_own_variables_round_trip():
    w = _vars([1.0, 2.0])
    opt = optimizers.RMSprop(0.1, momentum=0.5)
    for _ in range(2):
        opt.apply(_t([0.3, -0.2]), w)
    store = {}
    opt.save_own_variables(store)
    assert sorted(store, key=int) == [str(i) for i in range(len(opt.variables))]
    fresh = optimizers.RMSprop(0.1, momentum=0.5)
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        fresh.load_own_variables(store)
    fresh.build(_vars([1.0, 2.0]))
    fresh.load_own_variables(store)
    for a, b in zip(opt.variables, fresh.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="not compatible"):
        fresh.set_weights([np.zeros(3)])
    with pytest.raises(ValueError, match="has not yet been built"):
        optimizers.SGD().set_weights([])


# --- custom optimizers ----------------------------------------------------------------------------
def test_custom_optimizer_with_per_variable_update_step():
    class SignSGD(optimizers.Optimizer):
        def __init__(self, learning_rate=0.1, **kwargs):
            super().__init__(learning_rate=learning_rate, **kwargs)

        def build(self, var_list):
            super().build(var_list)
            self.counts = self.add_optimizer_variables(var_list, "count")

        def update_step(self, gradient, variable, learning_rate):
            self.assign_add(self.counts[self._get_variable_index(variable)], torch.ones_like(variable))
            self.assign_sub(variable, learning_rate * torch.sign(gradient))

    w = _vars([1.0, 1.0])
    opt = SignSGD()
    opt.apply(_t([3.0, -2.0]), w)
    np.testing.assert_allclose(w[0].numpy(), [0.9, 1.1])
    assert opt.variables[-1].path == "sign_sgd/v0_count"
    np.testing.assert_allclose(opt.variables[-1].numpy(), [1.0, 1.0])


def test_overriding_update_step_of_a_builtin_is_honoured():
    calls = []

    class Logged(optimizers.SGD):
        def update_step(self, gradient, variable, learning_rate):
            calls.append(variable.name)
            super().update_step(gradient, variable, learning_rate)

    w = _vars([1.0], [2.0])
    Logged(0.5).apply(_t([1.0], [1.0]), w)
    assert calls == ["v0", "v1"]
    np.testing.assert_allclose([w[0].numpy()[0], w[1].numpy()[0]], [0.5, 1.5])


def test_base_update_step_must_be_implemented():
    with pytest.raises(NotImplementedError, match="update_step"):
        optimizers.Optimizer(0.1).apply(_t([1.0]), _vars([1.0]))


# --- configs and identifiers ----------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_config_round_trip(cls):
    opt = cls(learning_rate=0.05, clipnorm=2.0, use_ema=True, name="custom")
    config = opt.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    restored = optimizers.deserialize(optimizers.serialize(opt))
    assert type(restored) is cls and restored.get_config() == config
    assert optimizers.serialize(opt)["module"] == "keras.optimizers"


def test_config_round_trip_with_schedule():
    schedule = optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01])
    opt = optimizers.SGD(learning_rate=schedule, momentum=0.9)
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "PiecewiseConstantDecay"
    clone = optimizers.SGD.from_config(config)
    assert isinstance(clone._learning_rate, optimizers.schedules.PiecewiseConstantDecay)
    assert clone.get_config() == config


@pytest.mark.parametrize(
    "identifier, cls",
    [("adam", optimizers.Adam), ("Adam", optimizers.Adam), ("sgd", optimizers.SGD),
     ("rmsprop", optimizers.RMSprop), ("RMSprop", optimizers.RMSprop), ("adamw", optimizers.AdamW),
     ("adagrad", optimizers.Adagrad), ("adadelta", optimizers.Adadelta),
     ("adamax", optimizers.Adamax), ("nadam", optimizers.Nadam), ("ftrl", optimizers.Ftrl),
     ("lion", optimizers.Lion), ("adafactor", optimizers.Adafactor)],
)
def test_get_by_name(identifier, cls):
    assert type(optimizers.get(identifier)) is cls


def test_get_other_identifiers():
    opt = optimizers.Adam()
    assert optimizers.get(opt) is opt
    assert optimizers.get(None) is None
    from_dict = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.2}})
    assert type(from_dict) is optimizers.SGD and from_dict.get_config()["learning_rate"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="Unknown"):
        optimizers.get("no_such_optimizer")
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get(42)


def test_legacy_decay_argument_warns():
    with pytest.warns(UserWarning, match="`decay` is no longer supported"):
        optimizers.deserialize({"class_name": "Adam", "config": {"learning_rate": 0.1, "decay": 0.0}})


# --- argument errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: optimizers.Adam(clipnorm=1.0, clipvalue=1.0), "Only one of `clipnorm`"),
        (lambda: optimizers.Adam(clipvalue=1.0, global_clipnorm=1.0), "Only one of `clipnorm`"),
        (lambda: optimizers.Adam(use_ema=True, ema_momentum=1.5), "`ema_momentum` must be in the range"),
        (lambda: optimizers.Adam(use_ema=True, ema_overwrite_frequency=1.5), "`ema_overwrite_frequency`"),
        (lambda: optimizers.Adam(gradient_accumulation_steps=1), "`gradient_accumulation_steps`"),
        (lambda: optimizers.Adam(foo=1), "not recognized"),
        (lambda: optimizers.Adam(learning_rate=1), "`learning_rate` should be float"),
        (lambda: optimizers.Adam(learning_rate="fast"), "`learning_rate` should be float"),
        (lambda: optimizers.SGD(momentum=1.5), "`momentum` must be a float"),
        (lambda: optimizers.SGD(momentum=0), "`momentum` must be a float"),
        (lambda: optimizers.AdamW(weight_decay=None), "`weight_decay` must be a float"),
        (lambda: optimizers.Lion(beta_1=0.0), "`beta_1` must be in"),
        (lambda: optimizers.Ftrl(learning_rate_power=0.5), "`learning_rate_power`"),
        (lambda: optimizers.Ftrl(initial_accumulator_value=-1.0), "`initial_accumulator_value`"),
        (lambda: optimizers.Ftrl(l1_regularization_strength=-1.0), "`l1_regularization_strength`"),
        (lambda: optimizers.Ftrl(l2_regularization_strength=-1.0), "`l2_regularization_strength`"),
        (lambda: optimizers.Ftrl(l2_shrinkage_regularization_strength=-1.0), "`l2_shrinkage"),
    ],
)
def test_invalid_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_default_names_are_unique_snake_case():
    assert [optimizers.Adam().name, optimizers.Adam().name] == ["adam", "adam_1"]
    assert optimizers.RMSprop().name == "rm_sprop" and optimizers.AdamW().name == "adam_w"


def test_keras2_lr_and_decay_arguments():
    # Old scripts: `RMSprop(lr=1e-4, decay=1e-6)`; Keras 3 refuses `lr` and ignores `decay`.
    with pytest.warns(DeprecationWarning, match="`lr` is the Keras 2 name"):
        opt = optimizers.SGD(lr=0.5, decay=1.0)
    var = lamina.Variable(np.zeros(()), dtype="float32")
    for _ in range(3):
        opt.apply([np.float32(1.0)], [var])
    # Keras 2's time-based decay: lr / (1 + decay * updates already applied).
    np.testing.assert_allclose(float(var.numpy()), -(0.5 + 0.5 / 2 + 0.5 / 3), rtol=1e-6)
    with pytest.raises(ValueError, match="`decay` must be a float >= 0"):
        optimizers.Adam(decay=-1.0)
    adam = optimizers.Adam(0.01)
    assert adam.lr is adam.learning_rate
    lamina.backend.set_value(adam.lr, 0.25)
    assert float(adam.learning_rate.numpy()) == 0.25
    adam.lr = 0.5
    assert float(adam.learning_rate.numpy()) == 0.5
