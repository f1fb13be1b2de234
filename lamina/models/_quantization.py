"""``Model.quantize`` and ``Model.get_quantization_layer_structure``."""

import re
import warnings

from lamina.models import _calibrated_quantization


def _selected(layer, filters):
    if filters is None:
        return True
    if isinstance(filters, str):
        return bool(re.search(filters, layer.name))
    if isinstance(filters, (list, tuple)):
        return any(re.search(pattern, layer.name) for pattern in filters)
    return bool(filters(layer))


def _path_prefix(layer):
    """The ``.../layer_name`` part of the layer's variable paths, or ``None`` without variables."""
    for v in layer._own_variables:
        if v.path.endswith(f"/{v.name}"):
            return v.path[: -len(v.name) - 1]
    return None


class ModelQuantization:
    """Quantization members of ``Model`` (and so of ``Sequential`` and functional models)."""

    def get_quantization_layer_structure(self, mode=None):
        """The block structure structure-aware modes (GPTQ/AWQ) need; ``None`` by default.

        Model authors override it to return ``{"pre_block_layers": [...],
        "sequential_blocks": [...]}``: the layers the calibration token ids go through first
        (e.g. an embedding), then the blocks quantized one after the other. A
        ``quantization_layer_structure`` in the ``GPTQConfig`` / ``AWQConfig`` takes precedence.
        """
        del mode
        return None

    def quantize(self, mode=None, config=None, filters=None, **kwargs):
        """Quantize the weights of every layer that supports ``mode``, in place.

        Layers without quantization support are left as they are (with a warning when they
        refuse the mode). The model must be built.

        Args:
            mode: ``"int8"`` (Dense, EinsumDense, Embedding), ``"int4"`` (Dense) or
                ``"float8"`` (Dense, EinsumDense); ``"gptq"`` and ``"awq"`` (Dense,
                EinsumDense) calibrate on the config's dataset, block by block (see
                ``get_quantization_layer_structure``); optional when ``config`` is given.
            config: A ``QuantizationConfig`` (``Int8QuantizationConfig``,
                ``Int4QuantizationConfig``, ``Float8QuantizationConfig``, ``GPTQConfig``,
                ``AWQConfig``); ``None`` for the mode's default (int4: blocks of 128 input
                rows; GPTQ and AWQ have no default: they need their data).
            filters: Only quantize the layers whose name matches this regex (or any regex of a
                list), or for which this callable returns True.

        Example:

        >>> model = lamina.Sequential([lamina.Input((10,)), lamina.layers.Dense(10)])
        >>> model.quantize("int8")
        >>> model.layers[0].dtype_policy.name
        'int8_from_float32'
        """
        type_check = kwargs.pop("type_check", True)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if filters is not None and not isinstance(filters, (str, list, tuple)) and not callable(filters):
            raise ValueError(
                "The `filters` argument must be a regex string, a list of regex strings, or a "
                f"callable. Received: {type(filters)}"
            )
        from lamina import quantizers

        # Checked once here (bad modes and configs fail before any layer changes); each layer
        # resolves the same defaults again.
        resolved = quantizers._resolve_config(mode, config)
        if not self.built:
            raise ValueError(f"Cannot quantize model '{self.name}': it is not built yet.")
        structure = None
        if resolved.mode in ("gptq", "awq"):
            structure = resolved.quantization_layer_structure
            if structure is None:
                structure = self.get_quantization_layer_structure(resolved.mode)
            _calibrated_quantization.check_calibration_inputs(resolved.mode, resolved, structure)
        changed = False
        candidates = self._flatten_layers()
        if structure is not None:
            # Only the layers the calibration reaches: Keras also converts the others, which then
            # keep computing in float but save empty quantized weights in place of their kernel.
            candidates = _calibrated_quantization.block_leaves(structure)
        for layer in candidates:
            if not _selected(layer, filters) or len(layer._flatten_layers()) != 1:
                continue
            prefix = _path_prefix(layer)
            try:
                layer.quantize(mode, type_check=type_check, config=config)
                changed = True
            except NotImplementedError as e:
                warnings.warn(str(e), stacklevel=2)
            if prefix is not None:
                # The quantized variables keep the layer's place in the model, as in Keras
                # ("sequential/dense/kernel", not "dense/kernel").
                for v in layer._own_variables:
                    v.path = f"{prefix}/{v.name}"
        if structure is not None:
            _calibrated_quantization.calibrate(
                resolved.mode, resolved, structure, lambda layer: _selected(layer, filters)
            )
        if changed:
            # Compiled train/test steps hold the old variables.
            self._train_function = None
            for name in ("_test_function", "_predict_function"):
                if name in self.__dict__:
                    self.__dict__[name] = None
