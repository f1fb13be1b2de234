"""The oracle set-up the quantization and LoRA tests share: the same layer or model in Keras (JAX)
and in Lamina with the same random weights, quantized or given LoRA factors alike, and the checks
that the two agree (weights, outputs, saved variables, files read by the other library)."""

import numpy as np

import lamina

TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def copy_random_weights(rng, k, l):
    """Draw normal weights for the Keras object ``k`` and give them to both ``k`` and ``l``."""
    weights = [rng.standard_normal(w.shape).astype("float32") for w in k.get_weights()]
    k.set_weights(weights)
    l.set_weights(weights)


def layer_pair(oracle, rng, class_name, *args, build_shape=None, **kwargs):
    """``(keras_layer, lamina_layer)``: ``class_name(*args, **kwargs)`` in both libraries, built
    for ``build_shape`` (no shape: ``build()``), with the same random weights."""
    pair = []
    for lib in (oracle, lamina):
        layer = getattr(lib.layers, class_name)(*args, **kwargs)
        if build_shape is None:
            layer.build()
        else:
            layer.build(build_shape)
        pair.append(layer)
    copy_random_weights(rng, *pair)
    return tuple(pair)


def model_pair(oracle, make, rng):
    """``(keras_model, lamina_model)``: ``make(library)`` in both, with the same random weights."""
    k, l = make(oracle), make(lamina)
    copy_random_weights(rng, k, l)
    return k, l


def int4_configs(oracle, block_size, **activation_quantizer):
    """``(keras_config, lamina_config)`` for int4 with ``block_size``: `None` configs (the mode's
    default, blocks of 128 rows) for 128; for ``"inputs"``, per-channel weights and inputs
    quantized by ``AbsMaxQuantizer(**activation_quantizer)``."""
    if block_size == 128:
        return None, None
    if block_size == "inputs":
        return tuple(
            lib.quantizers.Int4QuantizationConfig(
                activation_quantizer=lib.quantizers.AbsMaxQuantizer(**activation_quantizer), block_size=None)
            for lib in (oracle, lamina)
        )
    return tuple(lib.quantizers.Int4QuantizationConfig(block_size=block_size) for lib in (oracle, lamina))


def enable_lora(k, l, rank, **kwargs):
    k.enable_lora(rank, **kwargs)
    l.enable_lora(rank, **kwargs)


def quantize(k, l, mode=None, configs=(None, None)):
    if mode is None:
        k.quantize(config=configs[0])
        l.quantize(config=configs[1])
    else:
        k.quantize(mode, config=configs[0])
        l.quantize(mode, config=configs[1])


def assign_lora_factors(rng, k, l, names):
    """Give the LoRA factors ``names`` the same non-zero random values in both layers, so the
    LoRA path and the merge on saving count."""
    for name in names:
        value = rng.standard_normal(getattr(k, name).shape).astype("float32")
        getattr(k, name).assign(value)
        getattr(l, name).assign(value)


def quantize_with_lora(rng, k, l, mode, configs, lora, factor_names):
    """Quantize both layers with rank-2 LoRA enabled ``"before"`` or ``"after"`` quantizing, or
    ``"none"``; LoRA factors then get random values (`assign_lora_factors`)."""
    if lora == "before":
        enable_lora(k, l, 2)
    quantize(k, l, mode, configs)
    if lora == "after":
        enable_lora(k, l, 2)
    if lora != "none":
        assign_lora_factors(rng, k, l, factor_names)


def assert_same_weights(l, k, shapes=True, trainable=True, rtol=1e-6):
    """Same weight paths, (shapes, trainable flags) and values."""
    assert [w.path for w in l.weights] == [w.path for w in k.weights]
    if shapes:
        assert [tuple(w.shape) for w in l.weights] == [tuple(w.shape) for w in k.weights]
    if trainable:
        assert [w.trainable for w in l.weights] == [w.trainable for w in k.weights]
    for a, b in zip(l.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=rtol)


def assert_same_call(l, k, *args, rtol=1e-5, atol=1e-5, **kwargs):
    """``l(*args, **kwargs)`` equals ``k(*args, **kwargs)``."""
    np.testing.assert_allclose(l(*args, **kwargs).detach().numpy(), np.asarray(k(*args, **kwargs)), rtol=rtol,
                               atol=atol)


def assert_same_saved_variables(l, k, rtol=1e-6, atol=0):
    """``save_own_variables`` writes the same keys, in the same order, with the same values."""
    saved_k, saved_l = {}, {}
    k.save_own_variables(saved_k)
    l.save_own_variables(saved_l)
    assert list(saved_l) == list(saved_k)
    for key in saved_k:
        np.testing.assert_allclose(np.asarray(saved_l[key]), np.asarray(saved_k[key]), rtol=rtol, atol=atol)


def assert_predicts(model, x, expected, tolerance=TOLERANCE):
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, **tolerance)


def weights_files_both_ways(tmp_path, k, l, k2, l2, x, expected, tolerance=TOLERANCE):
    """``k``'s ``.weights.h5`` file loads into the Lamina model ``l2``, ``l``'s into the Keras
    model ``k2``; both then predict ``expected``."""
    k.save_weights(tmp_path / "k.weights.h5")
    l.save_weights(tmp_path / "l.weights.h5")
    l2.load_weights(tmp_path / "k.weights.h5")
    k2.load_weights(tmp_path / "l.weights.h5")
    assert_predicts(l2, x, expected, tolerance)
    assert_predicts(k2, x, expected, tolerance)


def archives_both_ways(oracle, tmp_path, k, l, x, expected, tolerance=TOLERANCE):
    """``k``'s ``.keras`` archive loads in Lamina, ``l``'s in Keras; both predict ``expected``.

    Returns:
        ``(loaded by Lamina, loaded by Keras)``.
    """
    k.save(tmp_path / "k.keras")
    l.save(tmp_path / "l.keras")
    from_keras = lamina.models.load_model(tmp_path / "k.keras")
    from_lamina = oracle.models.load_model(tmp_path / "l.keras")
    assert_predicts(from_keras, x, expected, tolerance)
    assert_predicts(from_lamina, x, expected, tolerance)
    return from_keras, from_lamina
