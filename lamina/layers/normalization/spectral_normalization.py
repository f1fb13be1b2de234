"""``SpectralNormalization``: keep a wrapped layer's kernel at unit spectral norm."""

import numbers

import torch

from lamina import initializers
from lamina.layers.core.wrapper import Wrapper
from lamina.layers.input_spec import InputSpec
from lamina.saving.object_registration import register_builtin


def _l2_normalize(v):
    # Keras normalizes the whole vector with `x * min(rsqrt(sum(x**2)), 1 / epsilon)`; the bound
    # takes v's dtype (inf in float16, where a plain clamp to 1e7 would overflow).
    scale = torch.rsqrt(torch.sum(v * v))
    return v * torch.minimum(scale, scale.new_tensor(1e7))


def spectral_normalize(kernel, vector_u, power_iterations):
    """One power-iteration estimate of the largest singular value ``sigma`` of ``kernel``
    (flattened to ``(-1, kernel.shape[-1])``).

    Returns:
        ``(new_vector_u, kernel / sigma)``.
    """
    weights = kernel.reshape(-1, kernel.shape[-1])
    u = vector_u
    for _ in range(power_iterations):
        v = _l2_normalize(u @ weights.T)
        u = _l2_normalize(v @ weights)
    sigma = (v @ weights) @ u.T
    return u, (kernel / sigma).reshape(kernel.shape)


@register_builtin("keras.layers")
class SpectralNormalization(Wrapper):
    """Wraps a layer and divides its kernel by the kernel's spectral norm in training.

    Each training call runs ``power_iterations`` steps of power iteration from the stored vector
    ``u`` to estimate the largest singular value ``sigma`` of the kernel (reshaped to
    ``(-1, kernel.shape[-1])``), then replaces the kernel by ``kernel / sigma`` and stores the new
    ``u`` (unless the kernel is all zeros). Inference uses the kernel as it is.

    Args:
        layer: The layer to wrap; it must have a ``kernel`` (``Dense``, ``Conv2D``...) or an
            ``embeddings`` (``Embedding``) weight.
        power_iterations: Number of power iterations per training call, at least 1.

    Call arguments:
        inputs: Input of the wrapped layer.
        training: Whether to normalize the kernel before calling the wrapped layer.

    Input shape:
        That of the wrapped layer.

    Output shape:
        That of the wrapped layer.

    Example:

    >>> layer = lamina.layers.SpectralNormalization(lamina.layers.Dense(4))
    >>> y = layer(np.random.rand(2, 3).astype("float32"), training=True)
    >>> [w.name for w in layer.weights]
    ['kernel', 'vector_u', 'bias']
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if (
            not isinstance(power_iterations, numbers.Integral)
            or isinstance(power_iterations, bool)
            or power_iterations <= 0
        ):
            raise ValueError(
                "`power_iterations` should be an integer greater than zero. Received: "
                f"`power_iterations={power_iterations!r}`"
            )
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        self._build_wrapped(self.layer, tuple(input_shape))
        if hasattr(self.layer, "kernel") and self.layer.kernel is not None:
            kernel = self.layer.kernel
        elif hasattr(self.layer, "embeddings"):
            kernel = self.layer.embeddings
        else:
            raise ValueError(
                f"{type(self.layer).__name__} object has no attribute 'kernel' nor 'embeddings', "
                f"so SpectralNormalization layer '{self.name}' cannot wrap it."
            )
        # Keras tracks the wrapped kernel as one of the wrapper's own variables too (it leads
        # `weights` and is saved in the wrapper's `vars` as well); torch keeps it registered in
        # `layer` only, so `parameters()` and `state_dict()` see it once.
        self.__dict__["_kernel"] = kernel
        self._own_variables.append(kernel)
        self.kernel_shape = tuple(kernel.shape)
        self.vector_u = self.add_weight(
            shape=(1, self.kernel_shape[-1]),
            initializer=initializers.TruncatedNormal(stddev=0.02),
            trainable=False,
            name="vector_u",
            dtype=kernel.dtype,
        )
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        self.built = True

    @property
    def kernel(self):
        return self.__dict__.get("_kernel")

    def call(self, inputs, training=False):
        if training:
            kernel = self.kernel
            with torch.no_grad():
                if bool(torch.any(kernel != 0)):
                    new_u, new_kernel = spectral_normalize(
                        kernel.detach(), self.vector_u.detach(), self.power_iterations
                    )
                    self.vector_u.assign(new_u.to(self.vector_u.dtype))
                    kernel.assign(new_kernel.to(kernel.dtype))
        outputs = self.layer(inputs)
        return outputs.to(inputs.dtype) if outputs.dtype != inputs.dtype else outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config["power_iterations"] = self.power_iterations
        return config
