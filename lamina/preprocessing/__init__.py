"""Data preprocessing (``keras.preprocessing``).

Keras 3's names (``image_dataset_from_directory``, ``text_dataset_from_directory``,
``timeseries_dataset_from_array``) are the functions of ``lamina.utils``; the Keras 2 modules
``image``, ``sequence`` and ``text`` hold ``ImageDataGenerator``, ``TimeseriesGenerator``,
``Tokenizer`` and their helpers.
"""

from lamina.preprocessing import image, sequence, text

# Defined in lamina.utils and looked up there on first use.
_FROM_UTILS = (
    "image_dataset_from_directory",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
)


def __getattr__(name):
    if name in _FROM_UTILS:
        import lamina.utils

        if hasattr(lamina.utils, name):
            return getattr(lamina.utils, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    import lamina.utils

    return sorted(set(globals()) | {n for n in _FROM_UTILS if hasattr(lamina.utils, n)})
