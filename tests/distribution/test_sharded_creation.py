"""Variables created as their shards under ModelParallel / FullySharded: the values are the slices of
single-process initialization, the whole kernel is never allocated, and training from them matches
single-process training."""

import os

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import lamina
from lamina import distribution, initializers, layers
from lamina.initializers._local_shard import local_shard
from lamina.trainers.model_parallel import gathered
from tests.distribution.test_model_parallel import (
    _compile,
    _load,
    _run,
    _save,
    _text_data,
    _transformer,
    _transformer_layouts,
)

WIDE_IN, WIDE_OUT = 64, 4096  # a kernel of 262144 elements: 131072 per process


def _ranges(shape, parts, index, dim):
    ranges = [(0, d) for d in shape]
    size = -(-shape[dim] // parts)
    start = min(index * size, shape[dim])
    ranges[dim] = (start, min(shape[dim], start + size))
    return ranges


# --- one process: the local block of each initializer is the slice of its whole value -----------------
@pytest.mark.parametrize("initializer", [
    initializers.GlorotUniform(seed=3), initializers.HeNormal(seed=4),
    initializers.RandomNormal(seed=5), initializers.TruncatedNormal(seed=6),
    initializers.LecunUniform(seed=7), initializers.RandomUniform(seed=8),
    initializers.VarianceScaling(distribution="untruncated_normal", seed=9),
    initializers.Zeros(), initializers.Ones(), initializers.Constant(2.5),
    initializers.Orthogonal(seed=1),
], ids=lambda i: type(i).__name__)
@pytest.mark.parametrize("shape", [(37, 23), (5, 7, 11), (3, 300), (300, 3)])
def test_local_shard_is_the_slice_of_the_whole(initializer, shape, monkeypatch):
    # Small pieces, so every tensor here is drawn in several (with a short tail folded in).
    monkeypatch.setattr("lamina.initializers._local_shard._CHUNK", 64)
    whole = initializer(shape)
    for dim in range(len(shape)):
        for parts in (2, 3):
            for index in range(parts):
                ranges = _ranges(shape, parts, index, dim)
                got = local_shard(initializer, shape, "float32", ranges)
                torch.testing.assert_close(got, whole[tuple(slice(a, b) for a, b in ranges)],
                                           rtol=0, atol=0)
    ranges = [(1, 3), (1, 3)] + [(0, d) for d in shape[2:]]  # two dimensions cut at once
    torch.testing.assert_close(local_shard(initializer, shape, "float32", ranges),
                               whole[tuple(slice(a, b) for a, b in ranges)], rtol=0, atol=0)


@pytest.mark.parametrize("gain", [1.0, 2.5])
@pytest.mark.parametrize("shape", [(7, 7), (5, 9), (9, 5), (1, 6)])
def test_identity_block_is_the_slice_of_the_whole(shape, gain, monkeypatch):
    init = initializers.Identity(gain=gain)
    whole = init(shape)
    # Never made whole: the block is computed from the diagonal entries it meets.
    monkeypatch.setattr(initializers.Identity, "__call__", _no_whole_call)
    blocks = [[(0, 2), (3, 5)], [(2, 5), (0, shape[1])], [(0, shape[0]), (1, 4)], [(3, 3), (0, 2)]]
    for dim in range(2):
        for parts in (2, 3):
            blocks += [_ranges(shape, parts, index, dim) for index in range(parts)]
    for ranges in blocks:
        ranges = [(min(a, d), min(b, d)) for (a, b), d in zip(ranges, shape)]
        got = local_shard(init, shape, "float32", ranges)
        torch.testing.assert_close(got, whole[tuple(slice(a, b) for a, b in ranges)], rtol=0, atol=0)
    got = local_shard(init, shape, "int32", [(0, shape[0]), (0, shape[1])])
    assert got.dtype == torch.int32 and int(got[0, 0]) == int(gain)


def _no_whole_call(self, shape, dtype=None):
    raise AssertionError("the whole value was computed")


@pytest.mark.parametrize("value_shape,shape", [
    ((6, 4), (6, 4)), ((4,), (6, 4)), ((1, 4), (6, 4)), ((6, 1), (6, 4)),
    ((3, 1, 5), (3, 4, 5)), ((5,), (2, 3, 5)), ((), (4, 3)),
])
def test_array_constant_block_is_the_slice_of_the_whole(value_shape, shape):
    value = np.arange(int(np.prod(value_shape)), dtype="float64").reshape(value_shape) + 0.5
    init = initializers.Constant(value)
    whole = init(shape)
    for dim in range(len(shape)):
        for parts in (2, 3):
            for index in range(parts):
                ranges = _ranges(shape, parts, index, dim)
                got = local_shard(init, shape, "float32", ranges)
                torch.testing.assert_close(got, whole[tuple(slice(a, b) for a, b in ranges)],
                                           rtol=0, atol=0)
    ranges = [(1, 2)] * len(shape)  # every dimension cut at once
    torch.testing.assert_close(local_shard(init, shape, "float32", ranges),
                               whole[tuple(slice(a, b) for a, b in ranges)], rtol=0, atol=0)
    assert local_shard(init, shape, "int32", ranges).dtype == torch.int32


def test_local_shard_keeps_the_initializers_shape_errors():
    with pytest.raises(ValueError, match="cannot be broadcast"):
        local_shard(initializers.Constant(np.ones((3,))), (4, 4), "float32", [(0, 2), (0, 4)])
    with pytest.raises(ValueError, match="2D matrices"):
        local_shard(initializers.Identity(), (4, 4, 4), "float32", [(0, 2), (0, 4), (0, 4)])


def test_local_shard_of_a_seed_generator_continues_its_stream():
    # A SeedGenerator seed gives new values on each call: the block is the slice of that call's.
    a = initializers.RandomNormal(seed=lamina.random.SeedGenerator(4))
    b = initializers.RandomNormal(seed=lamina.random.SeedGenerator(4))
    a((3, 3)), b((3, 3))  # both streams advance once
    ranges = _ranges((40, 6), 2, 1, 0)
    torch.testing.assert_close(local_shard(a, (40, 6), "float32", ranges), b((40, 6))[20:],
                               rtol=0, atol=0)


# --- two processes -----------------------------------------------------------------------------------
class _LargestAllocation(TorchDispatchMode):
    """The most elements any one tensor made inside the block had."""

    largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


def _wide_model():
    lamina.utils.set_random_seed(5)
    return lamina.Sequential([lamina.Input((WIDE_IN,)), layers.Dense(WIDE_OUT, name="wide"),
                              layers.Dense(2, name="out")])


class _Subclassed(lamina.Model):
    """Built lazily, by the first eager call that fit makes."""

    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(8, activation="relu")
        self.out = layers.Dense(3, activation="softmax")

    def call(self, x):
        return self.out(self.hidden(x))


def _subclassed():
    lamina.utils.set_random_seed(6)
    model = _Subclassed()
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model


def _subclassed_data():
    rng = np.random.default_rng(2)
    return rng.normal(size=(32, 5)).astype("float32"), rng.integers(0, 3, size=(32,))


def _creation_worker(rank, port, out_dir):
    def body():
        mesh = distribution.DeviceMesh((1, 2), ["batch", "model"])
        layout_map = _transformer_layouts(mesh)
        strategy = distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
        x, y = _text_data()
        with strategy.scope():
            model = _compile(_transformer(), lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
            created = {v.path: v.detach().numpy().copy() for v in model.weights}
            history = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
            with gathered(model):
                weights = model.get_weights()

            wide_map = distribution.LayoutMap(mesh)
            wide_map[".*/wide/kernel"] = (None, "model")
            with distribution.ModelParallel(layout_map=wide_map).scope():
                # A budget under the whole kernel's bytes: only its shard may be allocated.
                budget = WIDE_IN * WIDE_OUT * 4 * 3 // 4
                with lamina.backend.variables.allocation_budget(budget, "this process"), \
                        _LargestAllocation() as counter:
                    wide = _wide_model()
                wide_shape = tuple(wide.get_layer("wide").kernel.shape)
                wide_kernel = wide.get_layer("wide").kernel.detach().numpy().copy()
                # Called eagerly outside a loop, the layers gather their shards first.
                eager = wide(np.ones((3, WIDE_IN), "float32")).detach().numpy()
        # FullySharded: every variable split along its first dimension when created.
        with distribution.FullySharded().scope():
            mlp = lamina.Sequential([lamina.Input((6,)), layers.Dense(5), layers.Dense(3)])
            mlp_shapes = [tuple(v.shape) for v in mlp.weights]
            # A subclassed model builds in fit's first (eager) call: created as shards there too.
            sub = _subclassed()
            sub.fit(*_subclassed_data(), batch_size=8, epochs=1, shuffle=False, verbose=0)
            sub_shapes = [tuple(v.shape) for v in sub.weights]
            sub_created = all(getattr(v, "_shard_record", None) is not None for v in sub.weights)
            with gathered(sub):
                sub_weights = sub.get_weights()
        _save(out_dir, "rank", rank, dict(created=created, weights=weights, history=history.history,
                                          largest=counter.largest, wide_shape=wide_shape,
                                          wide_kernel=wide_kernel, eager=eager, mlp=mlp_shapes,
                                          sub_shapes=sub_shapes, sub_weights=sub_weights,
                                          sub_created=sub_created))

    _run(rank, 2, port, body)


@pytest.mark.slow
def test_created_sharded_on_two_processes(run_processes):
    out = run_processes(_creation_worker, 2)
    ranks = [_load(out, "rank", r) for r in range(2)]
    x, y = _text_data()
    reference = _compile(_transformer(), lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    initial = {v.path: v.detach().numpy().copy() for v in reference.weights}
    history = reference.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    mesh = distribution.DeviceMesh((1, 2), ["batch", "model"], devices=["cpu:0", "cpu:1"])
    layouts = _transformer_layouts(mesh)
    sharded = 0
    for path, whole in initial.items():
        layout = layouts[path]
        for rank, got in enumerate(ranks):
            local = got["created"][path]
            if layout is None:
                np.testing.assert_array_equal(local, whole)
                continue
            dim = layout.axes.index("model")
            ranges = _ranges(whole.shape, 2, rank, dim)
            # Exactly the slice of single-process initialization with the same seed.
            np.testing.assert_array_equal(local, whole[tuple(slice(a, b) for a, b in ranges)])
        sharded += layout is not None
    assert sharded == 12
    for got in ranks:
        assert len(got["weights"]) == len(reference.get_weights())
        for w, e in zip(got["weights"], reference.get_weights()):
            np.testing.assert_allclose(w, e, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got["history"]["loss"], history.history["loss"], rtol=1e-5)

    wide = _wide_model()
    kernel = wide.get_layer("wide").kernel.detach().numpy()
    eager = wide(np.ones((3, WIDE_IN), "float32")).detach().numpy()
    for rank, got in enumerate(ranks):
        assert got["wide_shape"] == (WIDE_IN, WIDE_OUT // 2)
        half = WIDE_OUT // 2
        np.testing.assert_array_equal(got["wide_kernel"], kernel[:, rank * half:(rank + 1) * half])
        # No tensor as large as the whole kernel was ever made while the model was built.
        assert got["largest"] <= WIDE_IN * WIDE_OUT // 2, got["largest"]
        np.testing.assert_allclose(got["eager"], eager, rtol=1e-5, atol=1e-6)
    assert ranks[0]["mlp"] == [(3, 5), (3,), (3, 3), (2,)]
    assert ranks[1]["mlp"] == [(3, 5), (2,), (2, 3), (1,)]
    sub = _subclassed()
    sub.fit(*_subclassed_data(), batch_size=8, epochs=1, shuffle=False, verbose=0)
    for rank, got in enumerate(ranks):
        assert got["sub_created"] and got["sub_shapes"][0] == (3 if rank == 0 else 2, 8)
        assert len(got["sub_weights"]) == len(sub.get_weights())
        for w, e in zip(got["sub_weights"], sub.get_weights()):
            np.testing.assert_allclose(w, e, rtol=1e-5, atol=1e-6)


# --- BackupAndRestore: an interrupted fit resumes on two processes from a sharded backup --------------
class _Interrupt(lamina.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise RuntimeError("Interrupting!")


def _backup_model():
    model = _compile(_transformer(), lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _backup_worker(rank, port, out_dir):
    def body():
        mesh = distribution.DeviceMesh((1, 2), ["batch", "model"])
        strategy = distribution.ModelParallel(layout_map=_transformer_layouts(mesh))
        x, y = _text_data()
        backup_dir = os.path.join(out_dir, "backup")
        with strategy.scope():
            model = _backup_model()
            with pytest.raises(RuntimeError, match="Interrupting"):
                model.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0,
                          callbacks=[lamina.callbacks.BackupAndRestore(backup_dir), _Interrupt()])
            files = sorted(os.listdir(backup_dir))
            # A fresh model (other initial weights, other layer names) resumes from the backup:
            # weights and optimizer state of epoch 2, then epochs 3 and 4.
            resumed = _compile(_transformer(seed=9), lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
            history = resumed.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0,
                                  callbacks=[lamina.callbacks.BackupAndRestore(backup_dir)])
            with gathered(resumed):
                weights = resumed.get_weights()
        _save(out_dir, "backup", rank, dict(files=files, weights=weights, history=history.history,
                                            left=os.path.exists(backup_dir)))

    _run(rank, 2, port, body)


@pytest.mark.slow
def test_backup_and_restore_resumes_on_two_processes(run_processes):
    out = run_processes(_backup_worker, 2)
    x, y = _text_data()
    reference = _backup_model()
    history = reference.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0)
    for rank in range(2):
        got = _load(out, "backup", rank)
        assert "latest.weights.dcp" in got["files"] and "training_metadata.json" in got["files"]
        assert not any(name.startswith(".lamina-pending") for name in got["files"])
        np.testing.assert_allclose(got["history"]["loss"], history.history["loss"][2:], rtol=1e-5)
        assert len(got["weights"]) == len(reference.get_weights())
        for w, e in zip(got["weights"], reference.get_weights()):
            np.testing.assert_allclose(w, e, rtol=1e-4, atol=1e-5)
        assert not got["left"]  # deleted once fit completed
