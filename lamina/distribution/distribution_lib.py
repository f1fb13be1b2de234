"""``Distribution`` strategies and the global ``set_distribution`` / ``distribution`` setting."""

import contextlib

from lamina.distribution import devices as devices_lib
from lamina.distribution.layout import DeviceMesh, LayoutMap, TensorLayout

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
        sync_batchnorm: ``True`` to have every ``BatchNormalization`` layer of the model
            normalize with the statistics of the whole global batch while ``fit`` trains (as
            ``BatchNormalization(synchronized=True)`` does, and torch's ``SyncBatchNorm``): the
            moving statistics then follow those of the global batch, as in single-process
            training on it. ``False`` (the default, as Keras): each process normalizes with its
            own slice's statistics, and the moving statistics are averaged over the processes
            when ``fit`` ends. A Lamina argument; Keras's ``DataParallel`` has none.

    Example:

    >>> lamina.distribution.initialize()  # in a script launched by torchrun
    >>> lamina.distribution.set_distribution(lamina.distribution.DataParallel())
    >>> model.fit(x, y, batch_size=64)  # 64 samples per step over all processes
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True, sync_batchnorm=False):
        if not isinstance(sync_batchnorm, bool):
            raise ValueError(
                f"`sync_batchnorm` must be True or False. Received: sync_batchnorm={sync_batchnorm!r}"
            )
        self._sync_batchnorm = sync_batchnorm
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
    def sync_batchnorm(self):
        """Whether ``fit`` normalizes every BatchNormalization layer with global batch
        statistics."""
        return self._sync_batchnorm

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


class ModelParallel(Distribution):
    """Model parallel training: variables split across processes by a ``LayoutMap``.

    The ``LayoutMap``'s keys are regular expressions over variable paths (``"dense_1/kernel"``),
    its values ``TensorLayout``s over the mesh's axes. With a process group running, ``fit`` /
    ``evaluate`` / ``predict`` store each variable as its shard of that layout
    (``torch.distributed.tensor`` placements: a variable split over N processes takes 1/N of its
    memory on each), replicate the variables no key matches, and split every batch along the mesh's
    batch axis: the processes that share a position on the batch axis read the same slice. Each
    step gathers the weights for the forward and backward passes, sums the gradients over the batch
    axis and updates each process's shard, so the result is that of single-process training on
    the whole batch.

    Between loops the variables stay sharded: ``variable.shape`` (a torch tensor's own) is then
    this process's shard's shape, ``variable.global_shape`` the whole one (what Keras reports as
    ``shape``; ``count_params()`` and ``summary()`` count with it), and ``get_weights()`` returns
    the shards. Calling the model gathers the weights first
    (every process must call it: gathering is a collective). ``model.save("x.keras")`` and
    ``save_weights("x.weights.h5")`` write the whole weights from process 0;
    ``save_weights("x.weights.dcp")`` writes a sharded checkpoint folder (each process its shards)
    that loads onto any number of processes. Variables created while the distribution is set
    (``with distribution.scope(): model = ...``) are created as this process's shards: each
    process draws only its block of the initializer's values, the same numbers as the slice of
    single-process initialization with the same seed (see ``initializers._local_shard``; an
    initializer whose values depend on the whole tensor, such as ``Orthogonal``, is computed
    whole and cut). Variables created before are split when the first ``fit`` / ``evaluate`` /
    ``predict`` under the distribution starts (process 0's values are the ones kept). The
    optimizer's ``clipnorm`` / ``global_clipnorm`` need whole gradients and are refused.

    Args:
        layout_map: A ``LayoutMap``; its ``device_mesh`` is the distribution's mesh.
        batch_dim_name: The mesh axis the batch is split along; defaults to the mesh's first axis.
        auto_shard_dataset: ``False`` when each process already reads its own data.
        device_mesh: Accepted for compatibility with older Keras code and ignored (the layout
            map's mesh is used), as in Keras.

    Example:

    >>> mesh = lamina.distribution.DeviceMesh((2, 2), ["batch", "model"])
    >>> layout_map = lamina.distribution.LayoutMap(mesh)
    >>> layout_map[".*dense.*kernel"] = (None, "model")
    >>> layout_map[".*dense.*bias"] = ("model",)
    >>> lamina.distribution.set_distribution(
    ...     lamina.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch"))
    """

    def __init__(self, *, layout_map=None, batch_dim_name=None, auto_shard_dataset=True,
                 device_mesh=None):
        if layout_map is None:
            raise ValueError("You must specify a layout_map argument.")
        if not isinstance(layout_map, LayoutMap):
            raise ValueError(
                f"Argument `layout_map` must be a `LayoutMap` instance. Received: layout_map={layout_map}"
            )
        mesh = layout_map.device_mesh
        if mesh is None:
            raise ValueError("The `layout_map` needs a `device_mesh`.")
        batch_dim_name = batch_dim_name or mesh.axis_names[0]
        if batch_dim_name not in mesh.axis_names:
            raise ValueError(
                f"`batch_dim_name` must be one of the mesh's axes {mesh.axis_names}. "
                f"Received: batch_dim_name={batch_dim_name!r}"
            )
        super().__init__(mesh, batch_dim_name, auto_shard_dataset)
        self._layout_map = layout_map
        if (self._is_multi_process and self.num_processes > self.num_model_replicas
                and self.num_processes % self.num_model_replicas != 0):
            raise ValueError(
                "If `num_processes` is greater than `num_model_replicas`, `num_processes` must be "
                f"divisible by `num_model_replicas`. Got num_processes={self.num_processes}, "
                f"num_model_replicas={self.num_model_replicas}."
            )

    @property
    def layout_map(self):
        return self._layout_map

    @property
    def num_model_replicas(self):
        return self.device_mesh.shape[self.device_mesh.axis_names.index(self.batch_dim_name)]

    def get_data_layout(self, data_shape):
        """Inputs are split along their first (batch) dimension over the batch axis."""
        return TensorLayout([self.batch_dim_name] + [None] * (len(data_shape) - 1), self.device_mesh)

    def get_variable_layout(self, variable):
        """The variable's own ``_layout``, else the layout map's entry for its path, else
        replicated."""
        own = getattr(variable, "_layout", None)
        if own is not None:
            return own
        return self._layout_for(variable.path, variable.shape)

    def _layout_for(self, path, shape):
        layout = self._layout_map[path]
        if layout is not None:
            return layout
        return TensorLayout([None] * len(shape), self.device_mesh)

    def get_tensor_layout(self, path):
        return self._layout_map[path]


class FullySharded(ModelParallel):
    """Fully sharded data parallel training (FSDP, ZeRO-3), without writing layouts.

    Every variable is split along its first dimension over the processes, which are also the
    batch axis: each process stores 1/N of every weight and of the optimizer's state, and trains
    on 1/N of each batch. Variables of rank 0 are replicated.

    Args:
        device_mesh: A one-dimensional ``DeviceMesh``; takes precedence over ``devices``.
        devices: Device names to build the mesh from; defaults to ``list_devices()``.
        auto_shard_dataset: ``False`` when each process already reads its own data.

    Example:

    >>> lamina.distribution.set_distribution(lamina.distribution.FullySharded())
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        if device_mesh is None:
            devices = devices_lib.list_devices() if not devices else list(devices)
            device_mesh = DeviceMesh((len(devices),), [DEFAULT_BATCH_DIM_NAME], devices)
        elif not isinstance(device_mesh, DeviceMesh) or len(device_mesh.shape) != 1:
            raise ValueError(
                f"`device_mesh` must be a one-dimensional `DeviceMesh`. Received: {device_mesh!r}"
            )
        super().__init__(layout_map=LayoutMap(device_mesh), batch_dim_name=device_mesh.axis_names[0],
                         auto_shard_dataset=auto_shard_dataset)

    def get_variable_layout(self, variable):
        """Split along the first dimension over the batch axis (scalars replicated)."""
        own = getattr(variable, "_layout", None)
        if own is not None:
            return own
        return self._layout_for(variable.path, variable.shape)

    def _layout_for(self, path, shape):
        axes = [None] * len(shape)
        if axes:
            axes[0] = self.batch_dim_name
        return TensorLayout(axes, self.device_mesh)


def creation_layout(path, shape):
    """``(distribution, layout)`` for a variable about to be created at ``path`` with ``shape``
    when the current distribution splits it (so it is created as this process's shard), else
    ``None``."""
    current = _CURRENT
    if not isinstance(current, ModelParallel) or devices_lib.num_processes() < 2:
        return None
    layout = current._layout_for(path, shape)
    if len(layout.axes) != len(shape) or all(axis is None for axis in layout.axes):
        return None  # a rank mismatch is reported when the variable is split for a loop
    return current, layout


def distribute_tensor(tensor, layout):
    """``tensor`` laid out by ``layout`` (a ``TensorLayout``) across the processes.

    With a process group running, returns a ``torch.distributed.tensor.DTensor`` whose local
    part is this process's shard (process 0's values are the ones distributed); without one, or
    for a symbolic tensor, returns ``tensor`` unchanged.

    Args:
        tensor: A tensor (or array) with the layout's number of dimensions.
        layout: A ``TensorLayout`` on a ``DeviceMesh``.

    Returns:
        The distributed tensor.

    Example:

    >>> mesh = lamina.distribution.DeviceMesh((2,), ["model"])
    >>> sharded = lamina.distribution.distribute_tensor(x, TensorLayout([None, "model"], mesh))
    >>> sharded.to_local().shape  # on each of 2 processes, for x of shape (4, 6)
    torch.Size([4, 3])
    """
    # Deferred: torch.distributed.tensor takes seconds to import, and most programs never shard.
    from lamina.distribution import sharded_variables

    return sharded_variables.distribute_tensor(tensor, layout)


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
