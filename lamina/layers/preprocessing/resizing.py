"""``Resizing``: resize images to a fixed height and width."""

from lamina.layers.preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    is_number,
    validate_size,
)
from lamina.backend.core import convert_to_tensor
from lamina.layers.preprocessing._resized_boxes import resize_bounding_boxes
from lamina.ops.image import RESIZE_INTERPOLATIONS, resize
from lamina.saving.object_registration import register_builtin


def resized_shape(layer, input_shape, height, width):
    """``input_shape`` with its spatial axes set to ``(height, width)``."""
    layer._check_rank(input_shape)
    shape = list(input_shape)
    h_axis, w_axis = layer._spatial_axes(len(shape))
    shape[h_axis], shape[w_axis] = height, width
    return tuple(shape)


@register_builtin("keras.layers")
class Resizing(BaseImagePreprocessingLayer):
    """Resizes images to ``(height, width)``.

    Resampling uses half-pixel centres with kernel weights renormalised at the borders, as
    ``keras.ops.image.resize``. Integer images keep their dtype (rounded half to even); other
    images come out in the layer's compute dtype.

    Args:
        height: Integer, the output height.
        width: Integer, the output width.
        interpolation: One of ``"bilinear"`` (default), ``"nearest"``, ``"bicubic"`` (Keys
            cubic, ``a = -0.5``), ``"lanczos3"``, ``"lanczos5"``.
        crop_to_aspect_ratio: If ``True``, crop the largest centred window with the target
            aspect ratio before resizing, so the aspect ratio is kept.
        pad_to_aspect_ratio: If ``True``, pad the short side evenly (with ``fill_value``) to the
            target aspect ratio before resizing.
        fill_mode: Padding mode with ``pad_to_aspect_ratio=True``; only ``"constant"``.
        fill_value: Float, the padding value with ``pad_to_aspect_ratio=True``.
        antialias: Whether to low-pass filter when downsampling. Defaults to ``False``.
        bounding_box_format: Format of the boxes (e.g. ``"xyxy"``, ``"yxyx"``) when the layer is
            called on a dict ``{"images", "bounding_boxes", "segmentation_masks", "labels"}``:
            boxes follow the resize (and the padding or crop) and are clipped to the new image,
            masks are resized with ``"nearest"``, labels pass through.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Input shape:
        3D (unbatched) or 4D (batched): ``(..., height, width, channels)`` in
        ``"channels_last"`` format, ``(..., channels, height, width)`` in ``"channels_first"``;
        or a dict holding such ``"images"``.

    Output shape:
        ``(..., target_height, target_width, channels)``, or
        ``(..., channels, target_height, target_width)`` in ``"channels_first"`` format.

    Example:

    >>> images = np.random.rand(2, 32, 48, 3).astype("float32")
    >>> lamina.layers.Resizing(16, 16, crop_to_aspect_ratio=True)(images).shape
    torch.Size([2, 16, 16, 3])
    """

    def __init__(
        self,
        height,
        width,
        interpolation="bilinear",
        crop_to_aspect_ratio=False,
        pad_to_aspect_ratio=False,
        fill_mode="constant",
        fill_value=0.0,
        antialias=False,
        data_format=None,
        bounding_box_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        self.bounding_box_format = bounding_box_format
        self.height = validate_size(height, "height")
        self.width = validate_size(width, "width")
        if interpolation not in RESIZE_INTERPOLATIONS:
            raise ValueError(
                f"Invalid value for argument `interpolation`. Expected one of {RESIZE_INTERPOLATIONS}. "
                f"Received: interpolation={interpolation!r}"
            )
        if fill_mode != "constant":
            raise ValueError(
                "Invalid value for argument `fill_mode`. Only `'constant'` is supported. "
                f"Received: fill_mode={fill_mode!r}"
            )
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
        if not is_number(fill_value):
            raise ValueError(f"Argument `fill_value` must be a number. Received: fill_value={fill_value!r}")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)

    def call(self, inputs):
        if isinstance(inputs, dict):
            return self._resize_dict(inputs)
        return self._resize(inputs, self.interpolation)

    def _resize(self, inputs, interpolation):
        self._check_rank(inputs.shape)
        return resize(
            inputs,
            (self.height, self.width),
            interpolation=interpolation,
            antialias=self.antialias,
            crop_to_aspect_ratio=self.crop_to_aspect_ratio,
            pad_to_aspect_ratio=self.pad_to_aspect_ratio,
            fill_mode=self.fill_mode,
            fill_value=self.fill_value,
            data_format=self.data_format,
        )

    def _resize_dict(self, data):
        if "images" not in data:
            raise ValueError(f"Layer '{self.name}' expected a dict with an 'images' entry. Received keys: {sorted(data)}")
        images = convert_to_tensor(data["images"])
        outputs = dict(data)
        outputs["images"] = self._resize(images, self.interpolation)
        if "segmentation_masks" in data:
            outputs["segmentation_masks"] = self._resize(convert_to_tensor(data["segmentation_masks"]), "nearest")
        if "bounding_boxes" in data:
            if not self.bounding_box_format:
                raise ValueError(
                    "You passed an input with a 'bounding_boxes' key, but you didn't specify a bounding box "
                    f"format. Pass a `bounding_box_format` argument to your {type(self).__name__} layer, "
                    "e.g. `bounding_box_format='xyxy'`."
                )
            h_axis, w_axis = self._spatial_axes(images.dim())
            mode = "pad" if self.pad_to_aspect_ratio else "crop" if self.crop_to_aspect_ratio else "stretch"
            outputs["bounding_boxes"] = resize_bounding_boxes(
                data["bounding_boxes"],
                self.bounding_box_format,
                (images.shape[h_axis], images.shape[w_axis]),
                (self.height, self.width),
                mode,
            )
        return outputs

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict):
            shapes = dict(input_shape)
            for key in ("images", "segmentation_masks"):
                if key in shapes:
                    shapes[key] = resized_shape(self, shapes[key], self.height, self.width)
            return shapes
        return resized_shape(self, input_shape, self.height, self.width)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "height": self.height,
                "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
                "fill_mode": self.fill_mode,
                "fill_value": self.fill_value,
                "antialias": self.antialias,
            }
        )
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config
