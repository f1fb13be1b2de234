"""``keras.applications.vgg16``: VGG16 and its pre/post-processing."""

from lamina.applications._vgg import DOC, build_vgg, decode_predictions, preprocess_input


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
          classes=1000, classifier_activation="softmax", name="vgg16"):
    return build_vgg((2, 2, 3, 3, 3), "vgg16", include_top, weights, input_tensor, input_shape, pooling, classes,
                     classifier_activation, name)


VGG16.__doc__ = DOC.format(name="VGG16", module="vgg16")

__all__ = ["VGG16", "decode_predictions", "preprocess_input"]
