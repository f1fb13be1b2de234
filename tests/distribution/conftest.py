"""Helpers for the multi-process tests: a free TCP port and a two-process gloo launcher."""

import os
import socket

import pytest
import torch.multiprocessing as mp


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def run_two_processes(tmp_path):
    """``run(worker, *args)`` runs ``worker(rank, port, out_dir, *args)`` in two spawned processes.

    ``worker`` must be a module-level function of the test module (the children import it). The
    children's exceptions are raised here; ``out_dir`` is where they leave results.
    """

    def run(worker, *args):
        # One thread per process: two processes share this machine's cores with other jobs.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        mp.spawn(worker, args=(_free_port(), str(tmp_path)) + args, nprocs=2, join=True)
        return tmp_path

    return run


@pytest.fixture
def run_processes(tmp_path):
    """``run(worker, nprocs, *args)``: ``run_two_processes`` for any number of processes."""

    def run(worker, nprocs, *args):
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        mp.spawn(worker, args=(_free_port(), str(tmp_path)) + args, nprocs=nprocs, join=True)
        return tmp_path

    return run
