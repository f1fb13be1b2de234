"""``Distribution`` strategies and the global ``set_distribution`` / ``distribution`` setting."""

import contextlib

from lamina.distribution import devices as devices_lib
from lamina.distribution.layout import DeviceMesh, TensorLayout

DEFAULT_BATCH_DIM_NAME = "batch"

_CURRENT = None


class Distribution:
    """Base class of distribution strategies: where data and variables go on a ``DeviceMesh``.

    Args:
        device_mesh: The ``DeviceMesh``.
        batch_dim_name: Name of the mesh axis the batch dimension is split along.
        auto_shard_dataset: Whether ``fit`` / ``evaluate`` / ``predict`` give each process its own
            part of every batch (``True``), or the data each process reads is already its own
            part (``False``).
    """

    def __init__(self, device_mesh, batch_dim_name=None, auto_shard_dataset=True):
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset
        self._num_processes = devices_lib.num_processes()
        self._process_id = devices_lib.process_id()
        self._is_multi_process = self._num_processes > 1

    @property
    def device_mesh(self):
        return self._device_mesh

    @property
    def batch_dim_name(self):
        return self._batch_dim_name

    @property
    def auto_shard_dataset(self):
        return self._auto_shard_dataset

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value):
        self._auto_shard_dataset = bool(value)

    @property
    def num_processes(self):
        """The number of processes of the job (when the distribution was made)."""
        return self._num_processes

    @property
    def num_model_replicas(self):
        raise NotImplementedError

    @property
    def data_shard_id(self):
        """Which part of the data this process reads."""
        replicas = self.num_model_replicas
        if replicas >= self._num_processes:
            return self._process_id
        return self._process_id // (self._num_processes // replicas)

    def get_data_layout(self, data_shape):
        """The ``TensorLayout`` of input data of shape ``data_shape``."""
        raise NotImplementedError

    def get_variable_layout(self, variable):
        """The ``TensorLayout`` of ``variable``."""
        raise NotImplementedError

    def get_tensor_layout(self, path):
        """The ``TensorLayout`` of the intermediate tensor at ``path``, or ``None``."""
        raise NotImplementedError

    @contextlib.contextmanager
    def scope(self):
        """Make this the current distribution inside a ``with`` block."""
        previous = distribution()
        set_distribution(self)
        try:
            yield
        finally:
            set_distribution(previous)

    def __repr__(self):
        return f"<{type(self).__name__} device_mesh={self.device_mesh}>"


class DataParallel(Distribution):
    """Data parallel training: every process holds the whole model, each trains on its part of a batch.

    With a process group of several processes (see ``initialize``), ``fit`` and ``evaluate`` split
    every batch of ``batch_size`` samples (the global batch, as in Keras) into one contiguous slice
    per process, average the gradients across processes with torch's ``DistributedDataParallel``
    before each optimizer step, and reduce the metrics so every process logs the same values;
    ``predict`` returns all the predictions on every process. Without a process group (or with one
    process) training runs as usual on the default device.

    Args:
        device_mesh: A one-dimensional ``DeviceMesh`` whose axis is the batch axis. Takes precedence
            over ``devices``.
        devices: Device names to build the mesh from; defaults to ``list_devices()``, which has one
            device per process once ``initialize`` has run.
        auto_shard_dataset: ``False`` when each process already reads its own data: its batches
            are then used whole, and the gradients are the plain mean over processes.

    Example:

    >>> lamina.distribution.initialize()  # in a script launched by torchrun
    >>> lamina.distribution.set_distribution(lamina.distribution.DataParallel())
    >>> model.fit(x, y, batch_size=64)  # 64 samples per step over all processes
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        if device_mesh is not None:
            if not isinstance(device_mesh, DeviceMesh):
                raise ValueError(
                    f"`device_mesh` must be a `DeviceMesh`. Received: device_mesh={device_mesh!r}"
                )
            if len(device_mesh.shape) != 1:
                raise ValueError(
                    "DataParallel needs a one-dimensional `device_mesh` (its axis is the batch "
                    f"axis). Received a mesh of shape {device_mesh.shape}."
                )
        else:
            devices = devices_lib.list_devices() if not devices else list(devices)
            device_mesh = DeviceMesh((len(devices),), [DEFAULT_BATCH_DIM_NAME], devices)
        super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)

    @property
    def num_model_replicas(self):
        return self._device_mesh.devices.size

    def get_data_layout(self, data_shape):
        """Inputs are split along their first (batch) dimension."""
        return TensorLayout([self.batch_dim_name] + [None] * (len(data_shape) - 1), self.device_mesh)

    def get_variable_layout(self, variable):
        """Variables are replicated on every device."""
        return TensorLayout([None] * len(variable.shape), self.device_mesh)

    def get_tensor_layout(self, path):
        """Intermediate tensors keep the layout they have."""
        return None


def set_distribution(value):
    """Make ``value`` (a ``Distribution``, or ``None``) the current distribution."""
    global _CURRENT
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(
            f"Expected a `Distribution` instance or None. Received: {value!r} of type "
            f"{type(value).__name__}"
        )
    _CURRENT = value


def distribution():
    """The current distribution (``None`` unless one was set)."""
    return _CURRENT
