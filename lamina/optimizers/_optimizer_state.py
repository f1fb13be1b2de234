"""An optimizer's variables as state: assigning through the Keras helpers, ``set_weights``, and the
saving API's ``save_own_variables`` / ``load_own_variables`` (keys ``"0"``, ``"1"``, ... in the
order the variables were created, as in Keras's files)."""

import warnings

import numpy as np


class OptimizerState:
    """Assignment helpers, ``set_weights`` and the saving hooks (mixed into ``Optimizer``)."""

    def assign(self, variable, value):
        """Assign `value` to `variable` (for update rules written with the Keras helpers)."""
        variable.assign(value)

    def assign_add(self, variable, value):
        """Add `value` to `variable` in place."""
        variable.assign_add(value)

    def assign_sub(self, variable, value):
        """Subtract `value` from `variable` in place."""
        variable.assign_sub(value)

    def _require_built_for_set_weights(self):
        if not self.built:
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. "
                "Please call `optimizer.build(trainable_variables)` to create the optimizer "
                "weights before calling `set_weights()`."
            )

    def set_weights(self, weights):
        """Set the values of `variables` from a list of arrays (the optimizer must be built)."""
        self._require_built_for_set_weights()
        for variable, weight in zip(self._variables, weights):
            if tuple(variable.shape) != tuple(np.shape(weight)):
                raise ValueError(
                    f"Optimizer variable {variable.path} has shape {tuple(variable.shape)} not "
                    f"compatible with provided weight shape {tuple(np.shape(weight))}."
                )
            variable.assign(weight)

    def save_own_variables(self, store):
        """Write the variables to `store` under the keys ``"0"``, ``"1"``, ... (saving API)."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        """Read the variables written by `save_own_variables` (saving API)."""
        if len(store.keys()) != len(self._variables):
            message = (
                f"Skipping variable loading for optimizer '{self.name}', because it has "
                f"{len(self._variables)} variables whereas the saved optimizer has "
                f"{len(store.keys())} variables. "
            )
            if len(self._variables) == 0:
                message += "This is likely because the optimizer has not been called/built yet."
            warnings.warn(message, stacklevel=2)
            return
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])
