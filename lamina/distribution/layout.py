"""``DeviceMesh``, ``TensorLayout`` and ``LayoutMap``: how tensors map onto devices.

The objects follow Keras 3 (``keras.distribution``). Data parallel training reads the mesh's batch
axis and keeps every variable replicated; ``ModelParallel`` stores each variable as its shards of
the layout its ``LayoutMap`` gives it (see ``sharded_variables``).
"""

import collections.abc
import math
import re

import numpy as np

from lamina.distribution.devices import list_devices


class DeviceMesh:
    """A cluster of devices arranged in a named n-dimensional grid.

    Args:
        shape: The grid's shape, e.g. ``(8,)`` or ``(2, 4)``.
        axis_names: One name per dimension of ``shape``, e.g. ``["batch", "model"]``.
        devices: Device names (see ``list_devices``), flat or already in ``shape``; defaults to
            ``list_devices()``. Their number must equal the product of ``shape``.

    Example:

    >>> mesh = lamina.distribution.DeviceMesh((2,), ["batch"], devices=["cpu:0", "cpu:1"])
    >>> mesh.devices.shape
    (2,)
    """

    def __init__(self, shape, axis_names, devices=None):
        if not shape or not axis_names:
            raise ValueError(
                "Shape and axis_names cannot be empty. Received: "
                f"shape={shape}, axis_names={axis_names}"
            )
        if len(shape) != len(axis_names):
            raise ValueError(
                "Shape and axis_names should have same size. "
                f"Received: shape={shape}, axis_names={axis_names}"
            )
        if devices is None:
            devices = list_devices()
        devices = np.array(devices)
        if math.prod(shape) != devices.size:
            raise ValueError(
                "Shape does not match the number of devices. "
                f"Received: shape={shape}; devices.shape={devices.shape}"
            )
        self._shape = tuple(shape)
        self._axis_names = list(axis_names)
        self._devices = np.reshape(devices, self._shape)

    @property
    def shape(self):
        return self._shape

    @property
    def axis_names(self):
        return self._axis_names

    @property
    def devices(self):
        """The device names, as a numpy array of ``shape``."""
        return self._devices

    def __repr__(self):
        return f"<{type(self).__name__} shape={self.shape}, axis_names={self.axis_names}>"


class TensorLayout:
    """How a tensor is laid out on a ``DeviceMesh``: one mesh axis name (or ``None``) per dimension.

    A dimension whose entry is a mesh axis name is split along that axis; ``None`` keeps it whole
    on every device of the axis (replicated).

    Args:
        axes: One entry per tensor dimension: a mesh axis name or ``None``.
        device_mesh: The ``DeviceMesh``; may be set later, once.

    Example:

    >>> mesh = lamina.distribution.DeviceMesh((1,), ["batch"])
    >>> lamina.distribution.TensorLayout(["batch", None], mesh).axes
    ('batch', None)
    """

    def __init__(self, axes, device_mesh=None):
        self._axes = tuple(axes)
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def axes(self):
        return self._axes

    @property
    def device_mesh(self):
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh):
        if self._device_mesh is not None:
            raise ValueError(
                f"Cannot override device mesh value. Existing value is {self._device_mesh}"
            )
        self._device_mesh = device_mesh
        self._validate_axes()

    def _validate_axes(self):
        if self._device_mesh is None:
            return
        valid = set(self._device_mesh.axis_names)
        names = set(self._axes) - {None}
        if names - valid:
            raise ValueError(f"Invalid axis names for Layout. Valid axis names: {valid}, Got {names}")

    def __repr__(self):
        return f"<{type(self).__name__} axes={self.axes}, device_mesh={self.device_mesh}>"


class LayoutMap(collections.abc.MutableMapping):
    """A dict from variable-path patterns to ``TensorLayout``s.

    Looking up a key returns the layout stored under exactly that key, or else the layout of the
    one pattern that fully matches it as a regular expression (``None`` when none does; a
    ``ValueError`` when several do). Tuples or lists of axis names are turned into layouts on the
    map's mesh when stored.

    Args:
        device_mesh: The ``DeviceMesh`` given to the layouts stored without one.

    Example:

    >>> layout_map = lamina.distribution.LayoutMap(mesh)
    >>> layout_map[".*dense.*kernel"] = (None, "model")
    >>> layout_map["dense_1/kernel"].axes
    (None, 'model')
    """

    def __init__(self, device_mesh):
        self._layout_map = collections.OrderedDict()
        self._device_mesh = device_mesh

    @property
    def device_mesh(self):
        return self._device_mesh

    def __getitem__(self, key):
        if key in self._layout_map:
            return self._layout_map[key]
        matches = [pattern for pattern in self._layout_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Path '{key}' matches multiple layout specification keys: {matches}. Please make "
                "sure each tensor/variable path only matches at most one layout specification key "
                "in the LayoutMap."
            )
        return self._layout_map[matches[0]] if matches else None

    def __setitem__(self, key, layout):
        if key in self._layout_map:
            raise ValueError(
                f"{key} already exist in the LayoutMap with value {self._layout_map[key]}. Please "
                "make sure to not use duplicated keys."
            )
        if isinstance(layout, (tuple, list)):
            layout = TensorLayout(axes=layout, device_mesh=None)
        if not isinstance(layout, TensorLayout):
            raise ValueError(f"{layout} should be a TensorLayout type, got {type(layout)}")
        if layout.device_mesh is None and self._device_mesh is not None:
            layout.device_mesh = self._device_mesh
        self._layout_map[key] = layout

    def __delitem__(self, key):
        return self._layout_map.pop(key)

    def __len__(self):
        return len(self._layout_map)

    def __iter__(self):
        return iter(self._layout_map)

    def get(self, key, default=None):
        """The layout for ``key`` (see the class docstring), or ``default`` if none matches."""
        layout = self[key]
        return default if layout is None else layout
