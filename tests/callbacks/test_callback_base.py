import pytest
import torch
from callback_fakes import regression_data, tiny_model

import lamina
from lamina import callbacks
from lamina.saving.object_registration import find_builtin

PUBLIC = [
    "BackupAndRestore", "Callback", "CallbackList", "CSVLogger", "EarlyStopping", "History",
    "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger",
    "ReduceLROnPlateau", "TerminateOnNaN",
    "RemoteMonitor", "SwapEMAWeights",
    "TensorBoard",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_registered_under_keras_callbacks(name):
    assert find_builtin(name, "keras.callbacks") is getattr(callbacks, name)


def test_public_names_match_keras(oracle):
    ours = set(callbacks.__all__)
    theirs = {n for n in dir(oracle.callbacks) if not n.startswith("_")}
    assert ours == set(PUBLIC)
    # Keras-only: OrbaxCheckpoint.
    assert ours <= theirs


def test_keras2_on_batch_end_override_runs_in_fit():
    class CountBatches(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begins, self.ends = 0, 0

        def on_batch_begin(self, batch, logs=None):
            self.begins += 1

        def on_batch_end(self, batch, logs=None):
            self.ends += 1

    x, y = regression_data(12)
    counter = CountBatches()
    tiny_model(lamina).fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[counter])
    assert (counter.begins, counter.ends) == (6, 6)


def test_callback_list():
    seen = []
    a = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(("a", epoch, logs)))
    b = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(("b", epoch, logs)))
    model = tiny_model(lamina)
    cbs = callbacks.CallbackList([a, [b]], add_history=True, model=model, epochs=3)
    assert [type(c).__name__ for c in cbs.callbacks] == ["LambdaCallback", "LambdaCallback", "History"]
    assert all(c.model is model for c in cbs.callbacks)
    assert all(c.params == {"epochs": 3} for c in cbs.callbacks)
    assert model.history is cbs.callbacks[2]
    cbs.on_epoch_end(0)
    assert seen == [("a", 0, {}), ("b", 0, {})]
    late = callbacks.History()
    cbs.append(late)
    assert late.model is model and late.params == {"epochs": 3}


def test_batch_hooks_reach_callbacks_added_or_patched_later():
    # CallbackList skips callbacks that leave a batch hook as the no-op; callbacks appended, and
    # hooks set on an instance, between runs must still be called.
    calls = []
    plain, patched = callbacks.Callback(), callbacks.Callback()
    cbs = callbacks.CallbackList([plain, patched])
    cbs.on_train_begin()
    cbs.on_train_batch_end(0)
    patched.on_train_batch_end = lambda batch, logs=None: calls.append(("patched", batch))
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_end(1)
    cbs.append(callbacks.LambdaCallback(on_train_batch_begin=lambda batch, logs: calls.append(("late", batch))))
    cbs.on_train_batch_begin(2)
    cbs.on_train_batch_end(2)
    assert calls == [("patched", 1), ("late", 2), ("patched", 2)]

    x, y = regression_data(12)
    seen = []
    counter = callbacks.Callback()
    counter.on_test_batch_end = lambda batch, logs=None: seen.append(batch)
    tiny_model(lamina).fit(x, y, batch_size=4, epochs=1, verbose=0, validation_data=(x, y), callbacks=[counter])
    assert seen == [0, 1, 2]


def test_default_callbacks_added_once():
    cbs = callbacks.CallbackList(add_history=True, add_progbar=True)
    assert [type(c).__name__ for c in cbs.callbacks] == ["History", "ProgbarLogger"]
    history, progbar = callbacks.History(), callbacks.ProgbarLogger()
    cbs = callbacks.CallbackList([history, progbar], add_history=True, add_progbar=True)
    assert cbs.callbacks == [history, progbar]


def test_model_property_is_settable():
    callback = callbacks.Callback()
    assert callback.model is None
    model = tiny_model(lamina)
    callback.model = model
    assert callback.model is model


def test_model_unwraps_distributed_data_parallel(tmp_path):
    import torch.distributed as dist

    if dist.is_initialized():
        pytest.skip("a process group is already running in this process")
    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/group", rank=0, world_size=1)
    try:
        model = tiny_model(lamina)
        callback = callbacks.Callback()
        callback.set_model(torch.nn.parallel.DistributedDataParallel(model))
        assert callback.model is model
    finally:
        dist.destroy_process_group()
