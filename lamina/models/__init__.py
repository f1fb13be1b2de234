"""``lamina.models``: Model, Sequential, and (with the saving issue) loading helpers."""

from lamina.models.functional import Functional
from lamina.models.model import Model
from lamina.models.sequential import Sequential
from lamina.models.cloning import clone_model
from lamina.models._archive import load_model, save_model


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model (without weights) from ``model.to_json()`` output."""
    import json

    from lamina.layers import deserialize

    return deserialize(json.loads(json_string), custom_objects=custom_objects)
