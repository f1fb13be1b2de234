"""ModelParallel / FullySharded on gloo processes (CPU): sharded variables, the same training as one
process, and sharded checkpoints that reload onto other numbers of processes."""

import os

import numpy as np
import pytest
import torch

import lamina
from lamina import distribution, layers
from lamina.trainers.model_parallel import gathered

N, FEATURES, CLASSES, BATCH = 101, 6, 3, 16  # 101 = 6 * 16 + 5: an uneven last batch
SEQ, VOCAB, WIDTH = 8, 32, 16


def _mlp_data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(N, FEATURES)).astype("float32"), rng.integers(0, CLASSES, size=(N,))


def _mlp(seed=1, synchronized=False):
    lamina.utils.set_random_seed(seed)
    return lamina.Sequential([
        lamina.Input((FEATURES,)),
        layers.Dense(16, activation="relu"),
        layers.BatchNormalization(synchronized=synchronized),
        layers.Dense(CLASSES, activation="softmax"),
    ])


class CustomStep(lamina.Sequential):
    """A user train step: its gradients reach the shards through `optimizer.apply`."""

    def train_step(self, data):
        x, y = data
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        self.zero_grad()
        loss.backward()
        self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
        self._loss_tracker.update_state(loss.detach(), sample_weight=x.shape[0])
        return self.compute_metrics(x, y, y_pred)


def _custom_mlp():
    lamina.utils.set_random_seed(3)
    return CustomStep([lamina.Input((FEATURES,)), layers.Dense(16, activation="relu"),
                       layers.Dense(CLASSES, activation="softmax")])


def _text_data():
    rng = np.random.default_rng(1)
    return rng.integers(0, VOCAB, size=(64, SEQ)).astype("int32"), rng.integers(0, 4, size=(64,))


def _transformer(seed=2):
    lamina.utils.set_random_seed(seed)
    inputs = lamina.Input((SEQ,), dtype="int32")
    x = layers.Embedding(VOCAB, WIDTH)(inputs)
    x = layers.LayerNormalization()(x + layers.MultiHeadAttention(num_heads=2, key_dim=8)(x, x))
    h = layers.EinsumDense("abc,cd->abd", output_shape=(None, 32), bias_axes="d",
                           activation="relu", name="ffn_in")(x)
    x = x + layers.EinsumDense("abd,dc->abc", output_shape=(None, WIDTH), name="ffn_out")(h)
    x = layers.GlobalAveragePooling1D()(x)
    return lamina.Model(inputs, layers.Dense(4, name="head")(x))


def _transformer_layouts(mesh):
    layout_map = distribution.LayoutMap(mesh)
    layout_map["embedding/embeddings"] = (None, "model")
    layout_map["multi_head_attention/(query|key|value)/kernel"] = (None, "model", None)
    layout_map["multi_head_attention/(query|key|value)/bias"] = ("model", None)
    layout_map["multi_head_attention/attention_output/kernel"] = ("model", None, None)
    layout_map["ffn_in/kernel"] = (None, "model")
    layout_map["ffn_in/bias"] = ("model",)
    layout_map["ffn_out/kernel"] = ("model", None)
    layout_map["head/kernel"] = (None, "model")
    return layout_map


def _compile(model, loss):
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss=loss, metrics=["accuracy"])
    return model


def _run(rank, world, port, body):
    torch.set_num_threads(1)
    distribution.initialize(f"127.0.0.1:{port}", num_processes=world, process_id=rank)
    try:
        body()
        torch.distributed.barrier()
    except BaseException:
        torch.distributed.destroy_process_group()
        raise
    # As in test_data_parallel: leave without interpreter teardown (gloo's threads may abort it).
    os._exit(0)


def _save(out_dir, name, rank, value):
    np.save(os.path.join(out_dir, f"{name}{rank}.npy"), value, allow_pickle=True)


def _load(out_dir, name, rank):
    return np.load(os.path.join(out_dir, f"{name}{rank}.npy"), allow_pickle=True).item()


# --- 2 processes: FullySharded MLP with synchronized BatchNormalization ------------------------------
def _fully_sharded_worker(rank, port, out_dir):
    def body():
        x, y = _mlp_data()
        model = _compile(_mlp(synchronized=True), "sparse_categorical_crossentropy")
        shapes = []

        class Shapes(lamina.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if batch == 0:
                    shapes.append([tuple(v.shape) for v in model.weights])

        with distribution.FullySharded().scope():
            history = model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=2,
                                callbacks=[Shapes()])
            evaluation = model.evaluate(x, y, batch_size=BATCH, verbose=0)
            predictions = model.predict(x, batch_size=BATCH, verbose=0)
            with gathered(model):
                weights = model.get_weights()
            # A whole weights file (with the optimizer's state) from process 0, read back by all.
            path = os.path.join(out_dir, "whole.weights.h5")
            model.save_weights(path)
            model.load_weights(path)
            reloaded = model.predict(x, batch_size=BATCH, verbose=0)
            custom = _compile(_custom_mlp(), "sparse_categorical_crossentropy")
            custom.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
            with gathered(custom):
                custom_weights = custom.get_weights()
        _save(out_dir, "rank", rank, dict(history=history.history, evaluate=evaluation,
                                          predict=predictions, weights=weights, shapes=shapes[0],
                                          custom=custom_weights, reloaded=reloaded))

    _run(rank, 2, port, body)


@pytest.mark.slow
def test_fully_sharded_two_processes_match_one(run_processes, capfd):
    x, y = _mlp_data()
    reference = _compile(_mlp(synchronized=True), "sparse_categorical_crossentropy")
    history = reference.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    expected_eval = reference.evaluate(x, y, batch_size=BATCH, verbose=0)
    expected_pred = reference.predict(x, batch_size=BATCH, verbose=0)
    custom = _compile(_custom_mlp(), "sparse_categorical_crossentropy")
    custom.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    out = run_processes(_fully_sharded_worker, 2)
    # Only process 0 reports progress.
    assert capfd.readouterr().out.count("Epoch 1/2") == 1
    ranks = [_load(out, "rank", r) for r in range(2)]
    whole = [tuple(w.shape) for w in reference.get_weights()]
    for rank, got in enumerate(ranks):
        for w, e in zip(got["weights"], reference.get_weights()):
            np.testing.assert_allclose(w, e, rtol=1e-5, atol=1e-6)
        for key, values in history.history.items():
            np.testing.assert_allclose(got["history"][key], values, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got["evaluate"], expected_eval, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got["predict"], expected_pred, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got["reloaded"], got["predict"])
        for w, e in zip(got["custom"], custom.get_weights()):
            np.testing.assert_allclose(w, e, rtol=1e-5, atol=1e-6)
        # Every variable is split along its first dimension: half (rounded up on rank 0) each.
        for local, full in zip(got["shapes"], whole):
            assert local[1:] == full[1:]
            assert local[0] == ((full[0] + 1) // 2 if rank == 0 else full[0] // 2)
    restored = _mlp(synchronized=True)
    restored.compile(optimizer=lamina.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    restored.optimizer.build(restored.trainable_weights)
    restored.load_weights(out / "whole.weights.h5")
    np.testing.assert_allclose(restored.predict(x, batch_size=BATCH, verbose=0), expected_pred,
                               rtol=1e-5, atol=1e-6)
    for mine, theirs in zip(restored.optimizer.variables, reference.optimizer.variables):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-4, atol=1e-6)
    total = sum(int(np.prod(s)) for s in whole)
    held = [sum(int(np.prod(s)) for s in got["shapes"]) for got in ranks]
    assert sum(held) == total and max(held) <= total / 2 + len(whole)


# --- 4 processes: a small transformer on a (batch 2) x (model 2) mesh ----------------------------------
def _transformer_worker(rank, port, out_dir):
    def body():
        x, y = _text_data()
        mesh = distribution.DeviceMesh((2, 2), ["batch", "model"])
        strategy = distribution.ModelParallel(layout_map=_transformer_layouts(mesh),
                                              batch_dim_name="batch")
        model = _compile(_transformer(), lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
        checkpoint = lamina.callbacks.ModelCheckpoint(os.path.join(out_dir, "ckpt.weights.dcp"),
                                                      save_weights_only=True)
        with strategy.scope():
            history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                                callbacks=[checkpoint])
            shapes = {v.path: tuple(v.shape) for v in model.weights}
            predictions = model.predict(x, batch_size=16, verbose=0)
            model.save(os.path.join(out_dir, "model.keras"))
            with gathered(model):
                weights = model.get_weights()
        value = torch.arange(8.0).reshape(2, 4) + rank  # process 0's values are distributed
        spread = distribution.distribute_tensor(value, distribution.TensorLayout([None, "model"], mesh))
        local = spread.to_local()
        assert tuple(local.shape) == (2, 2)
        np.testing.assert_array_equal(spread.full_tensor().numpy(), torch.arange(8.0).reshape(2, 4))
        _save(out_dir, "rank", rank, dict(history=history.history, predict=predictions,
                                          weights=weights, shapes=shapes))

    _run(rank, 4, port, body)


def _reload_worker(rank, port, out_dir):
    def body():
        x, _ = _text_data()
        mesh = distribution.DeviceMesh((1, 2), ["batch", "model"])
        model = _transformer(seed=9)  # other initial weights: the checkpoint must replace them all
        model.compile(optimizer="adam", loss="mse")
        with distribution.ModelParallel(layout_map=_transformer_layouts(mesh)).scope():
            model.predict(x[:2], verbose=0)  # shards the variables on this 2-process mesh
            model.load_weights(os.path.join(out_dir, "ckpt.weights.dcp"))
            predictions = model.predict(x, batch_size=16, verbose=0)
            shapes = {v.path: tuple(v.shape) for v in model.weights}
        _save(out_dir, "reload", rank, dict(predict=predictions, shapes=shapes))

    _run(rank, 2, port, body)


@pytest.fixture(scope="module")
def transformer_run(tmp_path_factory):
    import torch.multiprocessing as mp

    from tests.distribution.conftest import _free_port

    out = tmp_path_factory.mktemp("transformer")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    mp.spawn(_transformer_worker, args=(_free_port(), str(out)), nprocs=4, join=True)
    return out


def _transformer_reference():
    x, y = _text_data()
    model = _compile(_transformer(), lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return model, history.history, model.predict(x, batch_size=16, verbose=0)


@pytest.mark.slow
def test_transformer_four_processes_match_one(transformer_run):
    reference, history, predictions = _transformer_reference()
    ranks = [_load(transformer_run, "rank", r) for r in range(4)]
    for got in ranks:
        for w, e in zip(got["weights"], reference.get_weights()):
            np.testing.assert_allclose(w, e, rtol=1e-4, atol=1e-5)
        for key, values in history.items():
            np.testing.assert_allclose(got["history"][key], values, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got["predict"], predictions, rtol=1e-4, atol=1e-5)
    # Sharded variables hold half their elements on each process (the model axis has 2), the
    # variables no layout names all of theirs.
    mesh = distribution.DeviceMesh((2, 2), ["batch", "model"], devices=[f"cpu:{i}" for i in range(4)])
    layouts = _transformer_layouts(mesh)
    sharded = 0
    for path, full in ((v.path, tuple(v.shape)) for v in reference.weights):
        for got in ranks:
            local = got["shapes"][path]
            if layouts[path] is None:
                assert local == full, path
            else:
                assert np.prod(local) * 2 == np.prod(full), (path, local, full)
        sharded += layouts[path] is not None
    assert sharded == 12


@pytest.mark.slow
def test_four_process_checkpoint_reloads_on_two_and_one(transformer_run, run_processes, tmp_path):
    import shutil

    x, _ = _text_data()
    expected = _load(transformer_run, "rank", 0)["predict"]
    # The .keras file process 0 wrote holds the whole weights.
    restored = lamina.saving.load_model(transformer_run / "model.keras")
    np.testing.assert_allclose(restored.predict(x, batch_size=16, verbose=0), expected,
                               rtol=1e-5, atol=1e-6)
    # The sharded checkpoint, onto one process without a process group; with a built optimizer,
    # its state (saved after the last epoch) is read too.
    single = _compile(_transformer(seed=9), "mse")
    single.optimizer.build(single.trainable_weights)
    single.load_weights(str(transformer_run / "ckpt.weights.dcp"))
    np.testing.assert_allclose(single.predict(x, batch_size=16, verbose=0), expected,
                               rtol=1e-5, atol=1e-6)
    reference, _, _ = _transformer_reference()
    assert len(single.optimizer.variables) == len(reference.optimizer.variables)
    for mine, theirs in zip(single.optimizer.variables, reference.optimizer.variables):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-4, atol=1e-6)
    # And onto two processes with a (1, 2) mesh: the same predictions, half the memory.
    shutil.copytree(transformer_run / "ckpt.weights.dcp", tmp_path / "ckpt.weights.dcp")
    run_processes(_reload_worker, 2)
    for rank in range(2):
        got = _load(tmp_path, "reload", rank)
        np.testing.assert_allclose(got["predict"], expected, rtol=1e-5, atol=1e-6)
        assert got["shapes"]["embedding/embeddings"] == (VOCAB, WIDTH // 2)
