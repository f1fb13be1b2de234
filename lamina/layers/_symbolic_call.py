"""How a layer is called on symbolic tensors: shapes inferred on meta tensors, a graph node recorded.

``Layer.__call__`` hands symbolic calls here. Output shapes come from ``compute_output_shape`` when
the layer overrides it, else from running ``call`` on fake (meta) tensors with state updates off;
masks are inferred the same way from ``compute_mask``.
"""

from lamina.backend.variables import SCOPE as _SCOPE
from lamina.backend import symbolic
from lamina.distribution import shard_views
from lamina.layers._call_inputs import reject_strings
from lamina.layers._masks import collect_mask
from lamina.layers._shape_specs import (
    cast_meta,
    describe,
    shapes_to_keras_tensors,
    specs_to_tensors,
)
from lamina.layers._autocast import in_autocast_scope
from lamina.layers.input_spec import assert_input_compatibility
from lamina.backend import tree


class SymbolicCall:
    """Mixin of `Layer`: ``_symbolic_call`` and the shape / mask inference it uses."""

    def _symbolic_call(self, args, kwargs):
        inputs = args[0]
        if not self._accepts_string_inputs:
            reject_strings(self, args)
        if self.input_spec is not None:
            assert_input_compatibility(self.input_spec, inputs, self.name)
        if not self.built:
            self._maybe_build(inputs)
        takes_training, takes_mask, mask_overridden, shape_overridden = self._call_facts()[:4]
        call_kwargs = dict(kwargs)
        if takes_mask and call_kwargs.get("mask") is None:
            mask = collect_mask(inputs)
            if mask is not None:
                call_kwargs["mask"] = mask
        if not takes_training:
            call_kwargs.pop("training", None)
        outputs = self._symbolic_outputs(args, call_kwargs, shape_overridden)
        # An explicit `mask=` that is a graph tensor (e.g. a model input) is part of the node, as
        # in Keras; other masks travel on `_keras_mask` and are collected again at run time.
        node_kwargs = {
            k: v for k, v in kwargs.items() if k != "mask" or getattr(v, "_keras_history", None) is not None
        }
        symbolic.Node(self, args, node_kwargs, outputs)
        if mask_overridden or self.supports_masking:
            previous_mask = call_kwargs.get("mask") if takes_mask else collect_mask(inputs)
            if mask_overridden or previous_mask is not None:
                masks = self._symbolic_mask(inputs, previous_mask)
                flat_out, flat_masks = tree.flatten(outputs), tree.flatten(masks)
                if len(flat_masks) == 1 and len(flat_out) > 1:
                    flat_masks = flat_masks * len(flat_out)
                for out, m in zip(flat_out, flat_masks):
                    if symbolic.is_keras_tensor(out):
                        out._keras_mask = m
        return outputs

    def _symbolic_outputs(self, args, kwargs, shape_overridden):
        if shape_overridden:
            shapes = self.compute_output_shape(
                tree.map_structure(lambda t: t.shape if symbolic.is_keras_tensor(t) else t, args[0])
            )
            return shapes_to_keras_tensors(shapes, self.compute_dtype)
        specs = self._meta_run(args, kwargs)
        return specs_to_tensors(specs)

    def _meta_run(self, args, kwargs):
        was_symbolic = _SCOPE.symbolic
        _SCOPE.symbolic = True
        call_kwargs = dict(kwargs)
        if "training" in call_kwargs or self._call_facts()[0]:
            # State updates (e.g. moving statistics) must never run on meta tensors.
            call_kwargs["training"] = False
            if not self._call_facts()[0]:
                call_kwargs.pop("training")
        try:
            inputs_dtype = self.compute_dtype

            def run(*a, **k):
                # Inputs passed by keyword only (`mha(query=q, value=v)`) leave `a` empty.
                if self._autocast and a:
                    a = (cast_meta(a[0], inputs_dtype, self._promotes_non_float_inputs),) + a[1:]
                return self.call(*a, **k)

            if self._autocast_context:
                # The spec must see what the eager call computes with (see `_autocast`).
                run = in_autocast_scope(self, run)
            if shard_views.views_needed():
                with shard_views.whole_views():
                    return symbolic.run_on_meta(run, args, call_kwargs)
            return symbolic.run_on_meta(run, args, call_kwargs)
        except Exception as e:
            raise type(e)(
                f"Exception encountered when calling {type(self).__name__} '{self.name}' on "
                f"symbolic inputs {tree.map_structure(describe, args)}: {e}"
            ) from e
        finally:
            _SCOPE.symbolic = was_symbolic

    def _symbolic_mask(self, inputs, previous_mask):
        was_symbolic = _SCOPE.symbolic
        _SCOPE.symbolic = True
        try:
            specs = symbolic.run_on_meta(
                lambda x, m: self.compute_mask(x, m), (inputs, previous_mask), {}
            )
        finally:
            _SCOPE.symbolic = was_symbolic
        return specs_to_tensors(specs)
