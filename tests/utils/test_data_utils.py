"""Keras 2's ``keras.utils.data_utils``: ``Sequence``, ``get_file`` and the thread enqueuers."""

import itertools
import threading
import time

import numpy as np
import pytest

import lamina
from lamina.utils import data_utils


class _Numbers(data_utils.Sequence):
    def __init__(self, n=5):
        super().__init__()
        self.n, self.epochs_ended, self.offset = n, 0, 0

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        time.sleep(0.001 * ((index * 7) % 3))  # uneven work: order must not depend on timing
        return np.full((2,), index + self.offset)

    def on_epoch_end(self):
        self.epochs_ended += 1
        self.offset += 100


def test_keras2_names():
    assert data_utils.Sequence is lamina.utils.PyDataset
    assert data_utils.get_file is lamina.utils.get_file
    assert lamina.utils.OrderedEnqueuer is data_utils.OrderedEnqueuer
    assert lamina.utils.data_utils is data_utils  # reachable as an attribute, as in Keras 2


@pytest.mark.parametrize("workers", [1, 3])
def test_ordered_enqueuer_in_order_across_epochs(workers):
    seq = _Numbers()
    enqueuer = data_utils.OrderedEnqueuer(seq)
    enqueuer.start(workers=workers, max_queue_size=2)
    assert enqueuer.is_running()
    values = [int(b[0]) for b in itertools.islice(enqueuer.get(), 12)]
    enqueuer.stop()
    assert not enqueuer.is_running()
    assert values == [0, 1, 2, 3, 4, 100, 101, 102, 103, 104, 200, 201]
    assert seq.epochs_ended == 2


def test_ordered_enqueuer_shuffle():
    enqueuer = data_utils.OrderedEnqueuer(_Numbers(20), shuffle=True)
    enqueuer.start()
    values = [int(b[0]) for b in itertools.islice(enqueuer.get(), 20)]
    enqueuer.stop()
    assert sorted(values) == list(range(20)) and values != list(range(20))


def test_ordered_enqueuer_error_reaches_consumer():
    class Broken(_Numbers):
        def __getitem__(self, index):
            if index == 2:
                raise KeyError("bad batch")
            return index

    enqueuer = data_utils.OrderedEnqueuer(Broken())
    enqueuer.start()
    with pytest.raises(KeyError, match="bad batch"):
        list(enqueuer.get())
    assert not enqueuer.is_running()


def test_ordered_enqueuer_twice_start_refused():
    enqueuer = data_utils.OrderedEnqueuer(_Numbers())
    enqueuer.start()
    with pytest.raises(RuntimeError, match="already running"):
        enqueuer.start()
    enqueuer.stop()


@pytest.mark.parametrize("workers", [1, 4])
def test_generator_enqueuer_keeps_order_and_ends(workers):
    enqueuer = data_utils.GeneratorEnqueuer((i * i for i in range(50)))
    enqueuer.start(workers=workers, max_queue_size=3)
    assert list(enqueuer.get()) == [i * i for i in range(50)]
    enqueuer.stop()
    assert not enqueuer.is_running()


def test_generator_enqueuer_stop_unblocks_infinite_generator():
    enqueuer = data_utils.GeneratorEnqueuer(itertools.count(), use_multiprocessing=False)
    enqueuer.start(workers=2, max_queue_size=2)
    assert list(itertools.islice(enqueuer.get(), 5)) == [0, 1, 2, 3, 4]
    before = threading.active_count()
    enqueuer.stop(timeout=5)
    assert not enqueuer.is_running() and threading.active_count() <= before


def test_generator_enqueuer_error_and_multiprocessing_warning():
    def gen():
        yield 1
        raise ValueError("generator failed")

    with pytest.warns(UserWarning, match="threads"):
        enqueuer = data_utils.GeneratorEnqueuer(gen(), use_multiprocessing=True)
    enqueuer.start()
    with pytest.raises(ValueError, match="generator failed"):
        list(enqueuer.get())
