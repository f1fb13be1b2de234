"""Decoupled weight decay (as in AdamW), shared by every optimizer through ``Optimizer``."""

import re

import torch


class WeightDecayMixin:
    """``weight_decay`` and ``exclude_from_weight_decay`` for ``Optimizer``.

    Expects ``self.weight_decay`` and the exclusion attributes that ``Optimizer.__init__`` sets.
    """

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude variables from weight decay.

        Args:
            var_list: Variables to exclude.
            var_names: Strings; a variable whose name contains any of them is excluded (e.g.
                ``["bias"]``).
        """
        # The variables themselves (not their ids): a copied optimizer holds copied variables.
        self._exclude_from_weight_decay_variables = list(var_list or ())
        self._exclude_from_weight_decay_pattern = (
            re.compile("|".join(set(var_names))) if var_names else None
        )
        self._exclude_from_weight_decay_cache = {}

    def _use_weight_decay(self, variable):
        key = id(variable)
        cached = self._exclude_from_weight_decay_cache.get(key)
        if cached is not None:
            return cached
        pattern = self._exclude_from_weight_decay_pattern
        use = not any(v is variable for v in self._exclude_from_weight_decay_variables) and not (
            pattern is not None and pattern.search(variable.name) is not None
        )
        self._exclude_from_weight_decay_cache[key] = use
        return use

    def _apply_weight_decay(self, variables, learning_rate):
        if self.weight_decay is None:
            return
        decayed = [v for v in variables if self._use_weight_decay(v)]
        if decayed:
            # variable - variable * (weight_decay * lr): the same rounding as Keras, unlike
            # variable * (1 - weight_decay * lr), whose factor loses the small decay in float32.
            shrink = torch._foreach_mul(decayed, learning_rate * self.weight_decay)
            torch._foreach_sub_(decayed, shrink)
