"""``extract_patches_3d``: patches of volumes, as ``keras.ops.image`` defines it."""

from lamina.ops._symbolic import holds_keras_tensor, record_op
from lamina.ops.image_patches import extract_patches

__all__ = ["extract_patches_3d"]


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Extract (optionally strided and dilated) 3D patches of volumes.

    Each output position holds its patch flattened in ``(depth, rows, cols, channels)`` order, as
    a channels axis of size ``patch_depth * patch_height * patch_width * channels``.

    Args:
        volumes: A volume ``(D, H, W, C)`` or a batch ``(N, D, H, W, C)`` (channels first with
            ``data_format="channels_first"``).
        size: An int or a tuple ``(patch_depth, patch_height, patch_width)``.
        strides: Steps between patches (int or 3-tuple); defaults to `size` (non-overlapping).
        dilation_rate: Spacing of the sampled voxels within a patch (int or 3-tuple).
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        The patches, of rank 4 (one volume) or 5 (a batch).

    Example:

    >>> volumes = np.random.rand(2, 10, 10, 10, 3).astype("float32")
    >>> lamina.ops.image.extract_patches_3d(volumes, (3, 3, 3)).shape
    torch.Size([2, 3, 3, 3, 81])
    """
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size, size)
    elif not isinstance(size, (tuple, list)) or len(size) != 3:
        raise TypeError(
            f"Invalid `size` argument. Expected an int or a tuple of length 3. Received: size={size}"
        )
    if strides is not None and not isinstance(strides, int) and len(strides) != 3:
        raise ValueError(f"Invalid `strides` argument. Expected an int or a tuple of length 3. Got: {strides}")
    if holds_keras_tensor((volumes,)):
        # Keras records this op as its `ExtractPatches` operation with a 3-tuple size.
        return record_op(
            "extract_patches", volumes, tuple(size), strides, dilation_rate, padding, data_format
        )
    return extract_patches(
        volumes, tuple(size), strides=strides, dilation_rate=dilation_rate, padding=padding,
        data_format=data_format,
    )
