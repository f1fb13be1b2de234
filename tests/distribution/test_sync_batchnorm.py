"""``DataParallel(sync_batchnorm=True)``: every BatchNormalization layer trains on the statistics of
the global batch, so two processes end with the moving statistics (and weights) of single-process
training on the whole batch."""

import os

import numpy as np
import pytest
import torch

import lamina
from lamina import distribution, layers

N, FEATURES, BATCH = 96, 6, 16


def _data():
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(N, FEATURES)) * 3 + 1).astype("float32")
    return x, rng.integers(0, 3, size=(N,))


def _model():
    lamina.utils.set_random_seed(4)
    model = lamina.Sequential([
        lamina.Input((FEATURES,)),
        layers.Dense(8),
        layers.BatchNormalization(momentum=0.5),
        layers.Activation("relu"),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=lamina.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    return model


def _worker(rank, port, out_dir, sync):
    torch.set_num_threads(1)
    distribution.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=rank)
    try:
        x, y = _data()
        model = _model()
        with distribution.DataParallel(sync_batchnorm=sync).scope():
            model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
        bn = model.layers[1]
        np.save(os.path.join(out_dir, f"rank{rank}.npy"),
                dict(weights=model.get_weights(), reset=not bn._synchronized_by_loop,
                     config=bn.get_config()["synchronized"]), allow_pickle=True)
        torch.distributed.barrier()
    except BaseException:
        torch.distributed.destroy_process_group()
        raise
    os._exit(0)  # as in test_data_parallel: gloo's threads may abort interpreter teardown


@pytest.mark.slow
def test_sync_batchnorm_matches_one_process_on_the_whole_batch(run_processes):
    x, y = _data()
    reference = _model()
    reference.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    expected = reference.get_weights()
    bn_stats = slice(4, 6)  # Dense kernel, bias, gamma, beta, moving_mean, moving_variance, ...
    out = run_processes(_worker, 2, True)
    for rank in range(2):
        got = np.load(os.path.join(out, f"rank{rank}.npy"), allow_pickle=True).item()
        for w, e in zip(got["weights"][bn_stats], expected[bn_stats]):
            np.testing.assert_allclose(w, e, rtol=1e-5, atol=1e-6)
        for w, e in zip(got["weights"], expected):
            np.testing.assert_allclose(w, e, rtol=1e-4, atol=1e-5)
        # The layers are synchronized for the loop only, and their config is unchanged.
        assert got["reset"] and got["config"] is False


def test_sync_batchnorm_argument_is_checked():
    assert distribution.DataParallel(devices=["cpu:0"]).sync_batchnorm is False
    assert distribution.DataParallel(devices=["cpu:0"], sync_batchnorm=True).sync_batchnorm
    with pytest.raises(ValueError, match="sync_batchnorm"):
        distribution.DataParallel(devices=["cpu:0"], sync_batchnorm="yes")
