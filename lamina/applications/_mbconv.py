"""What EfficientNet and EfficientNetV2 share: their initializers, the convolution units of their
stems, tops and blocks, squeeze-and-excitation, the stochastic-depth residual, the loop over the
stages of a block table, and the classifier top."""

from lamina import layers
from lamina.applications import _blocks, _common

CONV_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"},
}
DENSE_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"},
}


def conv_unit(x, filters, kernel_size, prefix, activation, bn_kwargs=None, strides=1, padding="same"):
    """Bias-free convolution, batch normalization and ``activation`` (none for `None`), named
    ``{prefix}conv``, ``{prefix}bn`` and ``{prefix}activation``."""
    names = (f"{prefix}conv", f"{prefix}bn", f"{prefix}activation")
    return _blocks.conv_bn(x, filters, kernel_size, names, activation, bn_kwargs=bn_kwargs, strides=strides,
                           padding=padding, kernel_initializer=CONV_KERNEL_INITIALIZER)


def squeeze_excite(x, filters_in, filters, se_ratio, activation, name):
    """Rescale the ``filters`` channels of ``x`` by weights computed from their global average
    through a bottleneck of ``filters_in * se_ratio`` channels."""
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    shape = (filters, 1, 1) if _common.channel_axis() == 1 else (1, 1, filters)
    se = layers.Reshape(shape, name=f"{name}se_reshape")(se)
    se = layers.Conv2D(max(1, int(filters_in * se_ratio)), 1, padding="same", activation=activation,
                       kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid", kernel_initializer=CONV_KERNEL_INITIALIZER,
                       name=f"{name}se_expand")(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def residual(x, inputs, strides, filters_in, filters_out, drop_rate, name):
    """Add ``inputs`` back when the block keeps the shape, dropping whole samples of the branch
    at ``drop_rate`` (stochastic depth)."""
    if strides == 1 and filters_in == filters_out:
        if drop_rate:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def stages(x, blocks_args, keys, rounded, repeats, total, drop_connect_rate, family, apply_block):
    """Apply the blocks of every stage of a block table.

    Args:
        x: The stem's output.
        blocks_args: The stage dicts; changed in place, as Keras does.
        keys: The dict keys of ``(repeats, filters in, filters out)``.
        rounded: Maps a filter count to the scaled one.
        repeats: Maps a stage's repeats to the scaled count.
        total: The block count the drop rate grows over.
        drop_connect_rate: The largest drop rate.
        family: The builder's name, for the error message.
        apply_block: ``apply_block(x, drop_rate, name, args)`` applies one block.

    Returns:
        The output of the last block.
    """
    repeats_key, in_key, out_key = keys
    b = 0
    for i, args in enumerate(blocks_args):
        if args[repeats_key] <= 0:
            raise ValueError(
                f"The number of repeats in `{family}` must be > 0. Received: {repeats_key}={args[repeats_key]}"
            )
        args[in_key] = rounded(args[in_key])
        args[out_key] = rounded(args[out_key])
        for j in range(repeats(args.pop(repeats_key))):
            if j > 0:
                # Only a stage's first block changes the resolution and the channels.
                args["strides"] = 1
                args[in_key] = args[out_key]
            x = apply_block(x, drop_connect_rate * b / total, f"block{i + 1}{chr(j + 97)}_", args)
            b += 1
    return x


def top(x, filters, activation, bn_kwargs, include_top, dropout_rate, pooling, classes, classifier_activation,
        weights, **dense_kwargs):
    """The 1x1 ``top`` convolution unit, then the classifier or the feature pooling."""
    x = conv_unit(x, filters, 1, "top_", activation, bn_kwargs)
    return _common.head(x, include_top, pooling, classes, classifier_activation, weights, dropout=dropout_rate,
                        kernel_initializer=DENSE_KERNEL_INITIALIZER, **dense_kwargs)


def finish(x, img_input, input_tensor, name, include_top, weights, base_url, hashes, weights_name):
    """The model, with ``weights`` loaded (the published files are named after the model)."""
    model = _common.make_model(input_tensor, img_input, x, name)
    # The published hashes exist only for the named variants: looked up for "imagenet" only.
    file_hashes = hashes[weights_name] if weights == "imagenet" else None
    _common.load_published(model, weights, include_top, base_url, (f"{name}.h5", f"{name}_notop.h5"), file_hashes)
    return model
