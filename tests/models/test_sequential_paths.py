"""The paths Sequential's variables are created with: those Keras gives them (`model/layer/var`),
which a distribution's LayoutMap is asked with when the variables are created sharded."""

import numpy as np
import pytest

import lamina


def _path_recorder(module, paths):
    class Recorder(module.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), name="w")
            paths.append(self.w.path)  # the path at creation, which a LayoutMap is asked with

        def call(self, x):
            return x @ self.w

    return Recorder


@pytest.mark.oracle
@pytest.mark.parametrize("with_input", [True, False])
def test_variables_are_created_with_their_model_paths(oracle, with_input):
    ours, theirs = [], []
    for module, paths in ((lamina, ours), (oracle, theirs)):
        recorder = _path_recorder(module, paths)
        first = [module.Input((3,))] if with_input else []
        model = module.Sequential(first + [recorder(name="rec"), module.layers.Dense(2, name="d")],
                                  name="seq")
        if not with_input:
            model(np.ones((1, 3), "float32"))
        paths.append([v.path for v in model.weights])
    assert ours == theirs == ["seq/rec/w", ["seq/rec/w", "seq/d/kernel", "seq/d/bias"]]
