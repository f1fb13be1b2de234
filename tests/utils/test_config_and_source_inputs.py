"""``lamina.utils.Config`` and ``lamina.utils.get_source_inputs`` (Keras's semantics)."""

import copy
import json
import pickle

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.utils import Config, get_source_inputs


def _exercise(config_cls):
    """The same operations on either Config; returns what they observed."""
    config = config_cls(learning_rate=0.1, momentum=0.9)
    config.use_ema = True
    config["seed"] = 123
    seen = {
        "attr": (config.seed, config["learning_rate"], config.get("missing", "dflt")),
        "iter": list(config),
        "keys": list(config.keys()),
        "values": list(config.values()),
        "items": list(config.items()),
        "len": len(config),
        "contains": ("seed" in config, "nope" in config),
        "dict": config.as_dict(),
        "json": json.loads(config.to_json()),
        "repr": repr(config),
    }
    config.update({"b": 2}, c=3)
    seen["pop"] = config.pop("c")
    del config["b"]
    config.freeze()
    seen["frozen"] = config.frozen
    errors = []
    for mutate in (
        lambda: setattr(config, "x", 1),
        lambda: config.__setitem__("x", 1),
        lambda: config.update(x=1),
        lambda: config.pop("seed"),
        lambda: config.__delitem__("seed"),
    ):
        try:
            mutate()
        except ValueError as e:
            errors.append(str(e))
    seen["errors"] = errors
    config.unfreeze()
    config.x = 5
    seen["after"] = (config.frozen, config.x)
    try:
        config.learning_rat  # noqa: B018
    except AttributeError as e:
        seen["typo"] = str(e)
    try:
        config.frozen = True
    except AttributeError:
        seen["property"] = "refused"
    return seen


@pytest.mark.oracle
def test_config_behaves_like_keras(oracle):
    assert _exercise(Config) == _exercise(oracle.utils.Config)


def test_config_details():
    config = Config(b=1, a=2)
    assert list(config) == ["a", "b"]  # sorted, as Keras iterates
    assert list(config.keys()) == ["b", "a"]
    assert dict(config) == {"a": 2, "b": 1}
    assert config.as_dict() is not config.as_dict()
    with pytest.raises(AttributeError, match=r"Unknown attribute: 'c'\.$"):
        config.c  # noqa: B018
    with pytest.raises(AttributeError, match="Did you mean 'alpha'"):
        Config(alpha=1).alpah  # noqa: B018
    # Copies and pickles keep entries and the frozen flag.
    config.freeze()
    for clone in (copy.deepcopy(config), pickle.loads(pickle.dumps(config))):
        assert clone.as_dict() == {"b": 1, "a": 2} and clone.frozen
    assert copy.copy(config).as_dict() == {"b": 1, "a": 2}
    assert not hasattr(Config(), "missing")


def test_config_subclass_attributes_stay_attributes():
    class TrainingConfig(Config):
        defaults = {"epochs": 3}

        def __init__(self, **kwargs):
            self.tag = "set before the base class"
            super().__init__(**{**self.defaults, **kwargs})

    config = TrainingConfig(batch_size=8)
    assert config.as_dict() == {"epochs": 3, "batch_size": 8}
    assert config.tag == "set before the base class"
    config.defaults = {}
    assert "defaults" not in config


def _graph():
    a = lamina.Input((3,), name="a")
    b = lamina.Input((3,), name="b")
    c = lamina.Input((2,), name="c")
    h = layers.Dense(3)(a)
    s = layers.Add()([h, b, a])
    y = layers.Concatenate()([s, layers.Dense(4)(c), layers.Dense(2)(s)])
    return a, b, c, h, s, y


def test_get_source_inputs_walks_back_to_the_inputs():
    a, b, c, h, s, y = _graph()
    assert get_source_inputs(y) == [a, b, c]
    assert get_source_inputs(s) == [a, b]
    assert get_source_inputs(h) == [a]
    out = get_source_inputs(a)
    assert out == [a] and out[0] is a
    # A model's output and a nested model call.
    model = lamina.Model([a, b], s)
    x = lamina.Input((3,), name="x")
    z = lamina.Input((3,), name="z")
    assert get_source_inputs(model([x, z])) == [x, z]
    # Not a symbolic tensor: returned as is, as Keras does.
    arr = np.ones(3)
    assert get_source_inputs(arr) is arr


@pytest.mark.oracle
def test_get_source_inputs_matches_keras_order(oracle):
    def build(k):
        a = k.Input((3,), name="a")
        b = k.Input((3,), name="b")
        c = k.Input((2,), name="c")
        s = k.layers.Add()([k.layers.Dense(3)(b), a, b])
        y = k.layers.Concatenate()([k.layers.Dense(4)(c), s, k.layers.Dense(2)(s)])
        return [t.name for t in k.utils.get_source_inputs(y)], [t.name for t in k.utils.get_source_inputs(s)]

    assert build(lamina) == build(oracle)


def test_interactive_logging_switches_come_from_lamina_config(monkeypatch):
    names = ("disable_interactive_logging", "enable_interactive_logging", "is_interactive_logging_enabled")
    for name in names:
        if not hasattr(lamina.config, name):
            assert not hasattr(lamina.utils, name)
            monkeypatch.setattr(lamina.config, name, lambda: name, raising=False)
        assert getattr(lamina.utils, name) is getattr(lamina.config, name)
    with pytest.raises(AttributeError, match="no attribute 'not_a_switch'"):
        lamina.utils.not_a_switch  # noqa: B018


def test_new_utils_names_are_exported():
    for name in ("FeatureSpace", "Config", "get_source_inputs", "bounding_boxes"):
        assert name in lamina.utils.__all__ and hasattr(lamina.utils, name)
