"""The optional drawing libraries of ``lamina.visualization``, imported when first needed."""


def require_cv2(function_name):
    try:
        import cv2
    except ImportError as e:
        raise ImportError(
            f"The `{function_name}` function requires the `cv2` package (OpenCV). Install it "
            "with `pip install opencv-python-headless` (or `pip install opencv-python`)."
        ) from e
    return cv2


def require_pyplot(function_name):
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            f"The `{function_name}` function requires the `matplotlib` package. Install it "
            "with `pip install matplotlib` (or `pip install lamina[plot]`)."
        ) from e
    return plt


def to_numpy(x):
    """A numpy view of an array, torch tensor or nested list (no copy when avoidable)."""
    import numpy as np

    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def check_batched(images):
    shape = to_numpy(images).shape
    if len(shape) != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: images.shape={shape}")
    return shape
