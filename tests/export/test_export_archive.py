"""``lamina.export.ExportArchive``: endpoints and variable collections in one ``.pt2`` archive."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.export import ExportArchive, load_archive

SPEC = [lamina.InputSpec(shape=(None, 3), dtype="float32")]


def _model():
    return lamina.Sequential([lamina.Input((3,)), layers.Dense(4), layers.Dropout(0.5), layers.Dense(2)])


def test_two_endpoints_and_a_variable_collection(tmp_path, capsys):
    model = _model()
    archive = ExportArchive()
    archive.track(model)
    serve = archive.add_endpoint(name="serve", fn=model.call, input_signature=SPEC)
    archive.add_endpoint(name="call_training", fn=lambda x: model(x, training=True), input_signature=SPEC)
    archive.add_variable_collection("my_vars", model.layers[0].weights)
    path = tmp_path / "archive.pt2"
    archive.write_out(path)
    printed = capsys.readouterr().out
    assert "Endpoint 'serve' (default): inputs float32[None, 3]" in printed
    assert "Endpoint 'call_training'" in printed

    x = torch.randn(5, 3)
    expected = model(x).detach().numpy()
    np.testing.assert_allclose(serve(x).detach().numpy(), expected, atol=1e-6)
    revived = load_archive(path)
    np.testing.assert_allclose(revived.serve(x).detach().numpy(), expected, atol=1e-6)
    # The training endpoint applies dropout, so it differs from inference.
    many = torch.randn(64, 3)
    assert not np.allclose(revived.call_training(many).detach().numpy(), revived.serve(many).detach().numpy())
    # The first endpoint is torch's default program.
    np.testing.assert_allclose(torch.export.load(str(path)).module()(x).detach().numpy(), expected, atol=1e-6)
    assert [v.name for v in revived.my_vars] == ["kernel", "bias"]
    np.testing.assert_array_equal(revived.my_vars[0].numpy(), model.layers[0].kernel.numpy())
    # The four weights and the Dropout layer's seed-generator state, as `model.variables` lists them.
    assert len(revived.variables) == len(archive.variables) == len(model.variables) == 5
    assert len(revived.trainable_variables) == 4
    assert [v.name for v in revived.non_trainable_variables] == ["seed_generator_state"]


def test_track_and_add_endpoint_dynamic_batch(tmp_path):
    model = _model()
    archive = ExportArchive()
    archive.track_and_add_endpoint("serve", model, SPEC)
    archive.write_out(tmp_path / "a.pt2", verbose=False)
    revived = load_archive(tmp_path / "a.pt2")
    for batch in (1, 7):
        x = torch.randn(batch, 3)
        np.testing.assert_allclose(revived.serve(x).detach().numpy(), model(x).detach().numpy(), atol=1e-6)


def test_model_export_file_loads_as_an_archive(tmp_path):
    model = _model()
    model.export(tmp_path / "m.pt2", verbose=False)
    x = torch.randn(2, 3)
    np.testing.assert_allclose(
        load_archive(tmp_path / "m.pt2").serve(x).detach().numpy(), model(x).detach().numpy(), atol=1e-6
    )


def test_tracked_weights_are_program_parameters():
    model = _model()
    archive = ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x), input_signature=SPEC)
    program = archive._endpoints["serve"]
    assert len(program.graph_signature.parameters) == 4
    assert not program.constants


def test_errors(tmp_path):
    model = _model()
    archive = ExportArchive()
    with pytest.raises(ValueError, match="needs TensorFlow"):
        ExportArchive(format="saved_model")
    with pytest.raises(ValueError, match="Invalid resource type"):
        archive.track("model")
    with pytest.raises(ValueError, match="has not yet been built"):
        archive.track(layers.Dense(2))
    with pytest.raises(ValueError, match="needs an `input_signature`"):
        archive.add_endpoint("serve", model.call)
    with pytest.raises(ValueError, match="No endpoints have been set yet"):
        archive.write_out(tmp_path / "a.pt2")
    archive.add_endpoint("serve", model.call, input_signature=SPEC)
    with pytest.raises(ValueError, match="Endpoint name 'serve' is already taken"):
        archive.add_endpoint("serve", model.call, input_signature=SPEC)
    with pytest.raises(ValueError, match="Python identifier"):
        archive.add_endpoint("my endpoint", model.call, input_signature=SPEC)
    with pytest.raises(ValueError, match="list/tuple/set"):
        archive.add_variable_collection("v", model.layers[0].kernel)
    with pytest.raises(ValueError, match="`lamina.Variable` instances"):
        archive.add_variable_collection("v", [1.0])
    with pytest.raises(ValueError, match="only supported with the JAX backend"):
        archive.add_endpoint("other", model.call, input_signature=SPEC, is_static=True)
    with pytest.raises(ValueError, match="SaveOptions"):
        archive.write_out(tmp_path / "a.pt2", options=object())
    assert not (tmp_path / "a.pt2").exists()


def test_endpoints_leave_each_layers_training_flag_alone():
    model = _model()
    model.eval()
    archive = ExportArchive()
    archive.add_endpoint("serve", model.call, input_signature=SPEC)
    assert not any(m.training for m in model.modules())
    model.train()
    archive.add_endpoint("again", model.call, input_signature=SPEC)
    assert all(m.training for m in model.modules())
