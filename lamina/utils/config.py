"""``Config`` (``keras.utils.Config``): a dict of named values also readable as attributes."""

import copy
import difflib
import json

# Instance state that lives on the object itself, never among the config's entries.
_STATE = ("_config", "_frozen")


class Config:
    """A container of named values, with attribute and item access, freezing and JSON export.

    Names that are attributes of the class (``keys``, ``freeze``, ``frozen``, ...) keep their
    meaning; any other attribute set on the object becomes an entry.

    Args:
        **kwargs: The initial entries.

    Example:

    >>> config = Config(learning_rate=0.1, momentum=0.9)
    >>> config.seed = 123
    >>> config["seed"], config.learning_rate
    (123, 0.1)
    >>> config.freeze()
    >>> config.seed = 1
    Traceback (most recent call last):
    ...
    ValueError: Cannot mutate attribute(s) because the config is frozen.
    """

    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self):
        """Whether the config refuses changes."""
        return self._frozen

    def freeze(self):
        """Refuse any further change (until ``unfreeze()``)."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self):
        """Allow changes again."""
        object.__setattr__(self, "_frozen", False)

    def _raise_if_frozen(self):
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self):
        """A shallow copy of the entries as a plain dict."""
        return copy.copy(self._config)

    def to_json(self):
        """The entries as a JSON string."""
        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def get(self, keyname, value=None):
        return self._config.get(keyname, value)

    def pop(self, *args):
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._raise_if_frozen()
        return self._config.update(*args, **kwargs)

    def __setattr__(self, name, value):
        # Before __init__ has run (a subclass's own set-up) and for class attributes, this is
        # ordinary attribute setting.
        if "_config" not in self.__dict__ or name in _STATE or hasattr(type(self), name):
            object.__setattr__(self, name, value)
            return
        self._raise_if_frozen()
        self._config[name] = value

    def __getattr__(self, name):
        # Only reached when ordinary lookup failed.
        config = self.__dict__.get("_config")
        if config is None or name.startswith("__"):
            raise AttributeError(name)
        if name in config:
            return config[name]
        message = f"Unknown attribute: '{name}'."
        close = difflib.get_close_matches(name, [str(k) for k in config], n=1, cutoff=0.7)
        if close:
            message += f" Did you mean '{close[0]}'?"
        raise AttributeError(message)

    def __setitem__(self, key, item):
        self._raise_if_frozen()
        self._config[key] = item

    def __getitem__(self, key):
        return self._config[key]

    def __delitem__(self, key):
        self._raise_if_frozen()
        del self._config[key]

    def __contains__(self, item):
        return item in self._config

    def __iter__(self):
        # Keras iterates the keys in sorted order.
        return iter(sorted(self._config))

    def __len__(self):
        return len(self._config)

    def __repr__(self):
        return f"<Config {self._config}>"
