"""Each process's part of every global batch, and the random order all processes share.

Every process reads the same stream of global batches (same data, same shuffled order) and keeps
one contiguous slice of each: the first ``n % world`` processes get one sample more. Drawing the
order from a random state shared by all processes is what keeps the slices disjoint.
"""

import contextlib
import itertools
import random
import warnings

import torch

from lamina.utils import tree

_END = object()


def slice_bounds(n, rank, world):
    """``(start, stop)`` of process ``rank``'s slice of a global batch of ``n`` samples."""
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def _global_size(batch):
    for leaf in tree.flatten(batch):
        if leaf is not None and hasattr(leaf, "shape") and len(leaf.shape):
            return int(leaf.shape[0])
    raise ValueError("Cannot split a batch without arrays across processes.")


def _take(batch, start, stop):
    return tree.map_structure(
        lambda v: v[start:stop] if hasattr(v, "shape") and len(v.shape) else v, batch
    )


class SharedRandomness:
    """A random state (torch CPU and CUDA, Python ``random``) that every process holds alike.

    Inside ``active()`` the global generators run from the shared state; on exit the shared state
    is kept for next time and the process's own state is put back, so dropout and other randomness
    stay independent per process.
    """

    def __init__(self, seed):
        self._torch = torch.Generator().manual_seed(seed).get_state()
        self._python = random.Random(seed).getstate()
        self._cuda = None
        self._seed = seed

    @contextlib.contextmanager
    def active(self):
        own_torch, own_python = torch.get_rng_state(), random.getstate()
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        own_cuda = torch.cuda.get_rng_state() if cuda else None
        torch.set_rng_state(self._torch)
        random.setstate(self._python)
        if cuda:
            if self._cuda is None:
                torch.cuda.manual_seed(self._seed)
            else:
                torch.cuda.set_rng_state(self._cuda)
        try:
            yield
        finally:
            self._torch, self._python = torch.get_rng_state(), random.getstate()
            torch.set_rng_state(own_torch)
            random.setstate(own_python)
            if cuda:
                self._cuda = torch.cuda.get_rng_state()
                torch.cuda.set_rng_state(own_cuda)


class ShardedAdapter:
    """A data adapter yielding this process's slice of each batch of another adapter.

    Args:
        adapter: The adapter of the global batches.
        role: ``"train"``: batches too small to give every process a sample are skipped (the
            gradient all-reduce needs every process to take every step); ``"eval"``: a process
            whose slice is empty skips the batch; ``"predict"``: it predicts one padding sample,
            dropped when the outputs are gathered.
        rank, world: This process's rank and the number of processes.
        randomness: The ``SharedRandomness`` the order is drawn from; ``None`` when the data is
            not split (``auto_shard_dataset=False``).
        on_first_batch: Called with the first local batch, before it is yielded.
        on_iter: Called (without arguments) each time iteration starts, on every process alike.
    """

    def __init__(self, adapter, role, rank, world, randomness, on_first_batch=None, on_iter=None):
        self.adapter = adapter
        self.role = role
        self.rank, self.world = rank, world
        self.randomness = randomness
        self.on_first_batch = on_first_batch
        self.on_iter = on_iter
        # The share of the current batch's gradient this process contributes (its samples over
        # the global batch's), read by the gradient all-reduce of the step that uses the batch.
        self.weight = 1.0 / world
        self.global_sizes = []  # of the batches predicted, to put the outputs back in order
        self._warned = False
        self._skips_last = False
        n, size = getattr(adapter, "num_samples", None), getattr(adapter, "batch_size", None)
        if role == "train" and randomness is not None and n is not None and size:
            # Array data: the small last batch is known now; leave it out of the step count.
            if 0 < n % size < world:
                self._skips_last = True
                self._warn_skipped(n % size)

    @property
    def num_batches(self):
        count = self.adapter.num_batches
        return count - 1 if self._skips_last and count else count

    def _warn_skipped(self, n):
        if not self._warned and self.rank == 0:
            warnings.warn(
                f"A batch of {n} samples cannot give each of the {self.world} processes a sample: "
                "it is skipped in training. Choose a batch size and data size that leave at least "
                "one sample per process in the last batch.",
                stacklevel=5,
            )
        self._warned = True

    def on_epoch_begin(self):
        self.adapter.on_epoch_begin()

    def on_epoch_end(self):
        self.adapter.on_epoch_end()

    def __iter__(self):
        if self.on_iter is not None:
            self.on_iter()
        if self.randomness is None:
            batches = iter(self.adapter)
        else:
            # The adapters draw their order when iterated and at their first batch.
            with self.randomness.active():
                inner = iter(self.adapter)
                first = next(inner, _END)
            if first is _END:
                return
            batches = itertools.chain([first], inner)
        if self.role == "predict":
            self.global_sizes = []
        for batch in batches:
            local = self._local(batch)
            if local is None:
                continue
            if self.on_first_batch is not None:
                callback, self.on_first_batch = self.on_first_batch, None
                callback(local)
            yield local

    def _local(self, batch):
        if self.randomness is None:
            return batch
        n = _global_size(batch)
        start, stop = slice_bounds(n, self.rank, self.world)
        if self.role == "predict":
            self.global_sizes.append(n)
            return _take(batch, 0, 1) if start == stop else _take(batch, start, stop)
        if n < self.world:
            if self.role == "train":
                self._warn_skipped(n)
                return None
            if start == stop:
                return None
        self.weight = (stop - start) / n
        return _take(batch, start, stop)

    def local_layout(self, rank):
        """Rows per predicted batch in process ``rank``'s outputs, and how many of them are real."""
        out = []
        for n in self.global_sizes:
            start, stop = slice_bounds(n, rank, self.world)
            out.append((max(stop - start, 1), stop - start))
        return out
