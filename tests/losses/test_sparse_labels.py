"""Out-of-range class ids in sparse losses: a clear error naming the loss, the ids and the range."""

import numpy as np
import pytest

import lamina
from lamina import layers, losses

PRED = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], "float32")


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("labels, shown", [([0, 7], r"\[7\]"), ([-2, 1], r"\[-2\]")])
def test_out_of_range_labels_are_named(from_logits, labels, shown):
    with pytest.raises(ValueError, match=rf"sparse_categorical_crossentropy.*class ids.*{shown}.*\[0, 3\)"):
        losses.SparseCategoricalCrossentropy(from_logits=from_logits)(np.array(labels), PRED)
    with pytest.raises(IndexError):  # still the kind of error torch raised
        losses.sparse_categorical_crossentropy(np.array(labels), PRED, from_logits=from_logits)


def test_ignored_class_outside_the_range_is_still_allowed():
    loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    value = float(loss(np.array([0, -1]), PRED))
    np.testing.assert_allclose(value, -np.log(0.2), rtol=1e-5)


def test_the_metric_and_fit_report_the_same():
    metric = lamina.metrics.SparseCategoricalCrossentropy()
    with pytest.raises(ValueError, match=r"\[5\].*\[0, 3\)"):
        metric.update_state(np.array([5, 0]), PRED)
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy.*\[3, 9\].*\[0, 3\)"):
        model.fit(np.ones((4, 4), "float32"), np.array([0, 3, 9, 1]), verbose=0)
