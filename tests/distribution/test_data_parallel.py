"""Two-process DataParallel fit / evaluate / predict match single-process training (gloo, CPU)."""

import os
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import distribution, layers

N, FEATURES, CLASSES, BATCH = 101, 6, 3, 16  # the last batch (5) splits 3 + 2: unequal slices


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    y = rng.integers(0, CLASSES, size=(N,))
    return x, y


def _mlp(seed, cls=None):
    lamina.utils.set_random_seed(seed)
    return (cls or lamina.Sequential)([
        lamina.Input((FEATURES,)),
        layers.Dense(16, activation="relu"),
        layers.Dense(CLASSES, activation="softmax"),
    ])


class CustomStepModel(lamina.Sequential):
    """A user train step: gradients reach `optimizer.apply` without DistributedDataParallel."""

    def train_step(self, data):
        x, y = data
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        self.zero_grad()
        loss.backward()
        self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
        self._loss_tracker.update_state(loss.detach(), sample_weight=x.shape[0])
        return self.compute_metrics(x, y, y_pred)


def _train(model, x, y, verbose=0):
    model.compile(optimizer=lamina.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=verbose,
                        validation_data=(x[:40], y[:40]))
    return {
        "weights": [w.copy() for w in model.get_weights()],
        "history": history.history,
        "evaluate": model.evaluate(x, y, batch_size=BATCH, verbose=0),
        "predict": model.predict(x, batch_size=BATCH, verbose=0),
    }


def _fit_worker(rank, port, out_dir):
    torch.set_num_threads(1)
    distribution.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=rank)
    try:
        assert distribution.list_devices() == ["cpu:0", "cpu:1"]
        distribution.set_distribution(distribution.DataParallel())
        x, y = _data()
        results = {}
        # Rank 1 starts from other weights: fit must broadcast rank 0's first.
        results["builtin"] = _train(_mlp(seed=rank), x, y, verbose=1)
        results["custom"] = _train(_mlp(seed=rank, cls=CustomStepModel), x, y)
        np.save(os.path.join(out_dir, f"rank{rank}.npy"), results, allow_pickle=True)
        # Both ranks done, then leave without interpreter teardown: on this torch build, gloo's
        # threads intermittently abort the process at exit ("terminate called without an
        # active exception") after all the work is done and saved.
        torch.distributed.barrier()
    except BaseException:
        torch.distributed.destroy_process_group()
        raise
    os._exit(0)


@pytest.mark.slow
def test_fit_evaluate_predict_match_single_process(run_two_processes, capfd):
    x, y = _data()
    expected = _train(_mlp(seed=0), x, y)
    out = run_two_processes(_fit_worker)
    ranks = [np.load(out / f"rank{r}.npy", allow_pickle=True).item() for r in range(2)]
    for kind in ("builtin", "custom"):
        for got in (ranks[0][kind], ranks[1][kind]):
            for w, e in zip(got["weights"], expected["weights"]):
                np.testing.assert_allclose(w, e, rtol=1e-5, atol=1e-6)
            assert got["history"].keys() == expected["history"].keys()
            for key, values in expected["history"].items():
                np.testing.assert_allclose(got["history"][key], values, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(got["evaluate"], expected["evaluate"], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(got["predict"], expected["predict"], rtol=1e-5, atol=1e-6)
        # Both ranks log identical epoch values and end with identical weights.
        assert ranks[0][kind]["history"] == ranks[1][kind]["history"]
        for w0, w1 in zip(ranks[0][kind]["weights"], ranks[1][kind]["weights"]):
            np.testing.assert_array_equal(w0, w1)
    # Only rank 0 draws a progress bar: one "Epoch 1/2" line, not two.
    assert capfd.readouterr().out.count("Epoch 1/2") == 1


class Subclassed(lamina.Model):
    """Built by its first call, which `fit` makes before broadcasting the weights."""

    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(8, activation="relu")
        self.out = layers.Dense(CLASSES, activation="softmax")

    def call(self, x):
        return self.out(self.hidden(x))


def _small_data_worker(rank, port, out_dir):
    torch.set_num_threads(1)
    distribution.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=rank)
    try:
        x, y = _data()
        results = {"seen": [], "loader_seen": []}
        model = _mlp(seed=0)
        original_step = model.train_step
        phase = ["seen"]

        def train_step(data):  # records which samples this rank trains on
            results[phase[0]].append(data[0][:, 0].clone())
            return original_step(data)

        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        with distribution.DataParallel().scope():
            model.__dict__["train_step"] = train_step
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(x[:97], y[:97], batch_size=BATCH, epochs=1, shuffle=True, verbose=0)
            phase[0] = "loader_seen"
            dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
            model.fit(dataset, batch_size=12, epochs=1, shuffle=True, verbose=0)
            # 17 = 16 + 1: in the last batch only rank 0 has a sample.
            results["evaluate"] = model.evaluate(x[:17], y[:17], batch_size=BATCH, verbose=0)
            results["predict"] = model.predict(x[:17], batch_size=BATCH, verbose=0)
            results["weights"] = model.get_weights()
            sub = Subclassed()
            sub.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
            lamina.utils.set_random_seed(rank)
            sub.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
            results["sub_weights"] = sub.get_weights()
        results["seen"] = torch.cat(results["seen"]).numpy()
        results["loader_seen"] = torch.cat(results["loader_seen"]).numpy()
        results["warned"] = [str(w.message) for w in caught]
        np.save(os.path.join(out_dir, f"rank{rank}.npy"), results, allow_pickle=True)
        # Both ranks done, then leave without interpreter teardown: on this torch build, gloo's
        # threads intermittently abort the process at exit ("terminate called without an
        # active exception") after all the work is done and saved.
        torch.distributed.barrier()
    except BaseException:
        torch.distributed.destroy_process_group()
        raise
    os._exit(0)


@pytest.mark.slow
def test_shuffling_small_batches_and_built_on_first_batch(run_two_processes):
    out = run_two_processes(_small_data_worker)
    ranks = [np.load(out / f"rank{r}.npy", allow_pickle=True).item() for r in range(2)]
    x, y = _data()
    # Shuffled array data: both ranks drew the same order, so their slices are disjoint. 97 =
    # 6 * 16 + 1: the last batch cannot feed both processes and is skipped, with a warning.
    seen = np.concatenate([ranks[0]["seen"], ranks[1]["seen"]])
    assert len(seen) == 96 and len(np.unique(seen)) == 96 and np.isin(seen, x[:97, 0]).all()
    assert any("skipped in training" in m for m in ranks[0]["warned"])
    # A torch Dataset batched by a shuffling DataLoader: the same, every sample once.
    loader_seen = np.concatenate([ranks[0]["loader_seen"], ranks[1]["loader_seen"]])
    assert np.array_equal(np.sort(loader_seen), np.sort(x[:, 0]))
    # Evaluate / predict where one rank has no sample in the last batch.
    model = _mlp(seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.set_weights(ranks[0]["weights"])
    expected_eval = model.evaluate(x[:17], y[:17], batch_size=BATCH, verbose=0)
    expected_pred = model.predict(x[:17], batch_size=BATCH, verbose=0)
    for got in ranks:
        np.testing.assert_allclose(got["evaluate"], expected_eval, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got["predict"], expected_pred, rtol=1e-5, atol=1e-6)
    for w0, w1 in zip(ranks[0]["sub_weights"], ranks[1]["sub_weights"]):
        np.testing.assert_array_equal(w0, w1)
