"""Processes and devices: ``initialize`` joins the torch.distributed process group, ``list_devices``
names the devices a distribution can place work on.

Lamina scales out with one process per device (the torch.distributed model that ``torchrun``
launches), so once a process group is running the device list is global: one entry per process, in
rank order, numbered by rank as JAX numbers its devices across hosts.
"""

import os

import torch
import torch.distributed as dist

from lamina.backend import config

_DEVICE_TYPES = ("cpu", "gpu", "cuda")


def is_initialized():
    """Whether a torch.distributed process group is running."""
    return dist.is_available() and dist.is_initialized()


def num_processes():
    """The number of processes in the group (1 when none is running)."""
    return dist.get_world_size() if is_initialized() else 1


def process_id():
    """This process's rank in the group (0 when none is running)."""
    return dist.get_rank() if is_initialized() else 0


def _check_device_type(device_type):
    if device_type is None:
        return None
    kind = str(device_type).lower()
    if kind not in _DEVICE_TYPES:
        raise ValueError(
            f"Invalid `device_type`: {device_type!r}. Expected one of {_DEVICE_TYPES} or None."
        )
    return "cuda" if kind == "gpu" else kind


def _group_device_kind():
    # NCCL only moves CUDA tensors: a group on it trains on GPUs, any other backend on CPUs.
    return "cuda" if dist.get_backend() == "nccl" else "cpu"


def list_devices(device_type=None):
    """The devices available for distribution, as strings like ``"cpu:0"`` or ``"cuda:1"``.

    Without a process group these are this process's devices: the CUDA GPUs if there are any (or
    ``device_type`` asks for them), else ``"cpu:0"``. Once ``initialize`` has started a group of
    more than one process, the devices of the group's kind are one per process, named by rank
    (``["cpu:0", "cpu:1"]`` for two CPU processes).

    Args:
        device_type: ``"cpu"``, ``"gpu"`` (or ``"cuda"``), or ``None`` for the default kind
            (GPUs when available, else CPUs).

    Returns:
        A list of device name strings.

    Example:

    >>> lamina.distribution.list_devices("cpu")
    ['cpu:0']
    """
    kind = _check_device_type(device_type)
    if is_initialized() and dist.get_world_size() > 1:
        group_kind = _group_device_kind()
        if kind is None or kind == group_kind:
            return [f"{group_kind}:{rank}" for rank in range(dist.get_world_size())]
    if kind in (None, "cuda") and torch.cuda.is_available():
        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if kind == "cuda":
        return []
    return ["cpu:0"]


def get_device_count(device_type=None):
    """The number of devices ``list_devices(device_type)`` returns."""
    return len(list_devices(device_type))


def _env_int(*names):
    for name in names:
        value = os.environ.get(name)
        if value not in (None, ""):
            return int(value)
    return None


def initialize(job_addresses=None, num_processes=None, process_id=None):
    """Join the torch.distributed process group of a multi-process job.

    Each process of the job calls it once, before making a distribution. The backend is NCCL when
    CUDA is available (each process then uses GPU ``LOCAL_RANK``, or its rank modulo the GPU count,
    and Lamina puts new variables and data there), gloo otherwise.

    Arguments left ``None`` are read from the environment: ``KERAS_DISTRIBUTION_JOB_ADDRESSES``,
    ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and ``KERAS_DISTRIBUTION_PROCESS_ID`` (as in Keras), then the
    variables ``torchrun`` sets (``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). So a
    script launched by ``torchrun`` just calls ``initialize()``.

    Args:
        job_addresses: ``"host:port"`` of the coordinator, or a comma-separated list (or a list) of
            the addresses of all processes, the first being the coordinator.
        num_processes: The number of processes in the job.
        process_id: This process's rank, in ``[0, num_processes)``.

    Example:

    >>> # on each of two machines, with process_id 0 and 1:
    >>> lamina.distribution.initialize("10.0.0.1:29500", num_processes=2, process_id=0)
    """
    if is_initialized():
        return
    if not dist.is_available():
        raise RuntimeError("This build of torch has no torch.distributed support.")
    if job_addresses is None:
        job_addresses = os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES") or None
    if num_processes is None:
        num_processes = _env_int("KERAS_DISTRIBUTION_NUM_PROCESSES", "WORLD_SIZE")
    if process_id is None:
        process_id = _env_int("KERAS_DISTRIBUTION_PROCESS_ID", "RANK")
    if num_processes is None or process_id is None:
        raise ValueError(
            "`initialize()` needs the number of processes and this process's id: pass "
            "`num_processes` and `process_id`, set KERAS_DISTRIBUTION_NUM_PROCESSES and "
            "KERAS_DISTRIBUTION_PROCESS_ID, or launch the script with `torchrun`. Received: "
            f"num_processes={num_processes}, process_id={process_id}"
        )
    num_processes, process_id = int(num_processes), int(process_id)
    if num_processes < 1 or not 0 <= process_id < num_processes:
        raise ValueError(
            "`process_id` must be in [0, num_processes). Received: "
            f"num_processes={num_processes}, process_id={process_id}"
        )
    if job_addresses:
        if isinstance(job_addresses, str):
            job_addresses = job_addresses.split(",")
        coordinator = str(job_addresses[0]).strip()
        init_method = coordinator if "://" in coordinator else f"tcp://{coordinator}"
    elif os.environ.get("MASTER_ADDR") and os.environ.get("MASTER_PORT"):
        init_method = "env://"
    else:
        raise ValueError(
            "`initialize()` needs the coordinator's address: pass `job_addresses`, set "
            "KERAS_DISTRIBUTION_JOB_ADDRESSES, or set MASTER_ADDR and MASTER_PORT (torchrun does)."
        )
    backend = "gloo"
    if torch.cuda.is_available():
        backend = "nccl"
        local = _env_int("LOCAL_RANK")
        local = process_id % torch.cuda.device_count() if local is None else local
        torch.cuda.set_device(local)
        config.set_device(f"cuda:{local}")
    dist.init_process_group(backend, init_method=init_method, world_size=num_processes,
                            rank=process_id)
