"""``lamina.random``: seeded random tensors (mirrors ``keras.random``)."""

from lamina.random.random import (
    beta,
    binomial,
    categorical,
    dropout,
    gamma,
    normal,
    randint,
    shuffle,
    truncated_normal,
    uniform,
)
from lamina.backend.seed_generator import SeedGenerator
