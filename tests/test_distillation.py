"""`lamina.distillation`: losses and the Distiller compared with Keras's."""

import numpy as np
import pytest

import lamina


def _pair(k, rng, hidden_name=("t_hidden", "s_hidden")):
    teacher = k.Sequential(
        [k.Input((5,)), k.layers.Dense(6, activation="relu", name=hidden_name[0]), k.layers.Dense(3, name="t_out")],
        name="teacher",
    )
    student = k.Sequential(
        [k.Input((5,)), k.layers.Dense(6, activation="tanh", name=hidden_name[1]), k.layers.Dense(3, name="s_out")],
        name="student",
    )
    return teacher, student


def _weights(rng):
    shapes = [(5, 6), (6,), (6, 3), (3,)]
    return [rng.normal(0, 0.5, s).astype("float32") for s in shapes]


def _losses(k, kind):
    if kind == "logits":
        return [k.distillation.LogitsDistillation(temperature=2.5)], None
    if kind == "logits_mse":
        return [k.distillation.LogitsDistillation(temperature=1.5, loss="mse")], None
    if kind == "features":
        return [
            k.distillation.LogitsDistillation(temperature=3.0),
            k.distillation.FeatureDistillation(loss="mae", teacher_layer_name="t_hidden", student_layer_name="s_hidden"),
        ], [1.0, 0.25]
    return k.distillation.FeatureDistillation(), None


@pytest.mark.oracle
@pytest.mark.parametrize(
    "kind, student_loss_weight",
    [("logits", 0.3), ("logits", 0.0), ("logits", 1.0), ("logits_mse", 0.3), ("features", 0.3),
     ("final_features", 0.5)],
)
def test_distiller_matches_keras(oracle, kind, student_loss_weight):
    rng = np.random.default_rng(0)
    teacher_w, student_w = _weights(rng), _weights(rng)
    x = rng.random((16, 5), dtype=np.float32)
    y = rng.integers(0, 3, 16)
    results = []
    for k in (oracle, lamina):
        teacher, student = _pair(k, rng)
        teacher.set_weights(teacher_w)
        student.set_weights(student_w)
        losses, weights = _losses(k, kind)
        distiller = k.distillation.Distiller(
            teacher, student, losses, distillation_loss_weights=weights, student_loss_weight=student_loss_weight
        )
        distiller.compile(
            optimizer=k.optimizers.SGD(0.1),
            loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        before = distiller.evaluate(x, y, verbose=0, return_dict=True)
        history = distiller.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
        results.append((before, history, [np.asarray(w) for w in student.get_weights()],
                        [np.asarray(w) for w in teacher.get_weights()], len(distiller.trainable_weights)))
    (k_before, k_hist, k_student, k_teacher, k_n), (l_before, l_hist, l_student, l_teacher, l_n) = results
    assert set(l_before) == set(k_before)
    for key in k_before:
        assert l_before[key] == pytest.approx(k_before[key], rel=1e-5, abs=1e-6), key
        np.testing.assert_allclose(l_hist[key], k_hist[key], rtol=1e-4, atol=1e-6, err_msg=key)
    for a, b in zip(l_student, k_student):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(l_teacher, teacher_w):
        np.testing.assert_array_equal(a, b)  # the teacher stays frozen
    assert l_n == k_n == 4


@pytest.mark.oracle
@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_logits_distillation_loss_matches_keras(oracle, temperature):
    rng = np.random.default_rng(1)
    teacher = rng.normal(size=(4, 5)).astype("float32")
    student = rng.normal(size=(4, 5)).astype("float32")
    for loss in ("kl_divergence", "mse", "categorical_crossentropy"):
        expected = oracle.distillation.LogitsDistillation(temperature, loss=loss).compute_loss(teacher, student)
        got = lamina.distillation.LogitsDistillation(temperature, loss=loss).compute_loss(teacher, student)
        assert float(got) == pytest.approx(float(expected), rel=1e-5)
    pair = [teacher, teacher * 2]
    expected = oracle.distillation.FeatureDistillation(loss=["mse", None]).compute_loss(pair, [student, student])
    got = lamina.distillation.FeatureDistillation(loss=["mse", None]).compute_loss(pair, [student, student])
    assert float(got) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.oracle
def test_configs_match_keras(oracle):
    for name, kwargs in (
        ("LogitsDistillation", {"temperature": 2.0, "loss": "mse"}),
        ("FeatureDistillation", {"loss": "mae", "teacher_layer_name": "a", "student_layer_name": "b"}),
    ):
        keras_config = getattr(oracle.distillation, name)(**kwargs).get_config()
        loss = getattr(lamina.distillation, name)(**kwargs)
        config = loss.get_config()
        assert set(config) == set(keras_config)
        # Keras's config (its loss serialized as a function object) loads in Lamina.
        from_keras = type(loss).from_config(keras_config)
        assert from_keras.get_config() == config
        assert type(loss).from_config(config).get_config() == config


def test_distiller_config_round_trip():
    rng = np.random.default_rng(0)
    teacher, student = _pair(lamina, rng)
    distiller = lamina.distillation.Distiller(
        teacher, student,
        [lamina.distillation.LogitsDistillation(2.0),
         lamina.distillation.FeatureDistillation(teacher_layer_name="t_hidden", student_layer_name="s_hidden")],
        distillation_loss_weights=[1.0, 0.5], student_loss_weight=0.2,
    )
    config = distiller.get_config()
    clone = lamina.distillation.Distiller.from_config(config)
    assert clone.student_loss_weight == 0.2 and clone.distillation_loss_weights == [1.0, 0.5]
    assert [type(loss).__name__ for loss in clone.distillation_losses] == ["LogitsDistillation", "FeatureDistillation"]
    assert clone.get_config()["distillation_losses"] == config["distillation_losses"]


def test_distiller_errors():
    rng = np.random.default_rng(0)
    teacher, student = _pair(lamina, rng)
    D = lamina.distillation.Distiller
    logits = lamina.distillation.LogitsDistillation()
    with pytest.raises(ValueError, match="Teacher must be a lamina.Model"):
        D("teacher", student, logits)
    with pytest.raises(ValueError, match="between 0.0 and 1.0"):
        D(teacher, student, logits, student_loss_weight=1.5)
    with pytest.raises(ValueError, match="cannot be `None`"):
        D(teacher, student, None)
    with pytest.raises(ValueError, match="must match number of distillation_losses"):
        D(teacher, student, [logits], distillation_loss_weights=[1.0, 2.0])
    wide = lamina.Sequential([lamina.Input((5,)), lamina.layers.Dense(4)])
    with pytest.raises(ValueError, match="output shapes are incompatible"):
        D(teacher, wide, logits)
    with pytest.raises(ValueError, match="In student model"):
        D(teacher, student, lamina.distillation.FeatureDistillation(teacher_layer_name="t_hidden", student_layer_name="nope"))

    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = lamina.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(ValueError, match="teacher model\\(s\\) appear to be subclassed"):
        D(Net(), student, lamina.distillation.FeatureDistillation(teacher_layer_name="t_hidden"))
    with pytest.raises(ValueError, match="temperature must be positive"):
        lamina.distillation.LogitsDistillation(temperature=0)
    with pytest.raises(ValueError, match="at least one non-`None`"):
        lamina.distillation.FeatureDistillation(loss=None)
    distiller = D(teacher, student, logits)
    with pytest.raises(ValueError, match="'loss' cannot be `None`"):
        distiller.compile(optimizer="sgd")


def test_trained_distiller_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    teacher, student = _pair(lamina, rng)
    distiller = lamina.distillation.Distiller(
        teacher, student,
        [lamina.distillation.LogitsDistillation(2.0),
         lamina.distillation.FeatureDistillation(teacher_layer_name="t_hidden", student_layer_name="s_hidden")],
        student_loss_weight=0.4,
    )
    distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = rng.random((16, 5), dtype=np.float32), rng.integers(0, 3, 16)
    distiller.fit(x, y, epochs=1, verbose=0)
    distiller.save(tmp_path / "distiller.keras")
    loaded = lamina.saving.load_model(tmp_path / "distiller.keras")
    assert isinstance(loaded, lamina.distillation.Distiller)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), distiller.predict(x, verbose=0), rtol=1e-6)
    expected = distiller.evaluate(x, y, verbose=0, return_dict=True)
    got = loaded.evaluate(x, y, verbose=0, return_dict=True)
    for key in expected:
        assert got[key] == pytest.approx(expected[key], rel=1e-6), key
    assert len(loaded.trainable_weights) == 4
