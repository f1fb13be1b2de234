"""What higher floors install into the backend when they load (DESIGN.md: the backend imports none
of them): resets run by ``clear_session`` and the Keras 2 ``K.*`` functions.

The names are public for the modules that install and read them; none is part of ``K.*``.
"""

SESSION_RESETS = []
# The module whose ``__all__`` lists the Keras 2 ``K.*`` functions (``lamina.backend.legacy``), once
# the public namespace has installed it (lamina/__init__.py).
KERAS2 = []


def on_clear_session(reset):
    """Register ``reset()`` to run on every ``clear_session()`` (state kept outside the backend)."""
    if reset not in SESSION_RESETS:
        SESSION_RESETS.append(reset)


def install_keras2_functions(module):
    """Make the names in ``module.__all__`` (the Keras 2 ``K.*`` functions) ``lamina.backend.X``."""
    KERAS2[:] = [module]


def keras2_functions():
    """The installed Keras 2 ``K.*`` module, or ``None`` before the public namespace has loaded."""
    return KERAS2[0] if KERAS2 else None
