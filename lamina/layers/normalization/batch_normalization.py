"""``BatchNormalization``: normalize with batch statistics in training, moving averages otherwise."""

import numbers

import torch

from lamina import constraints, initializers, regularizers
from lamina.backend.variables import SCOPE
from lamina.layers import _inference
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops import _normalization_math as _ops
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin

_RENORM_KEYS = ("rmax", "rmin", "dmax")


def _standardize_axis(axis):
    """An int, or a list of at least two distinct ints (Keras 2 accepted lists; one-element lists
    become an int so the config stays readable by Keras 3)."""
    if isinstance(axis, (list, tuple)):
        if not axis or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
            raise ValueError(f"`axis` must be an int or a non-empty list of ints. Received: axis={axis!r}")
        if len(axis) == 1:
            return int(axis[0])
        if len(set(axis)) != len(axis):
            raise ValueError(f"Duplicate axis in `axis`. Received: axis={axis!r}")
        return [int(a) for a in axis]
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return int(axis)
    raise ValueError(f"`axis` must be an int or a list of ints. Received: axis={axis!r}")


def _validate_renorm_clipping(renorm_clipping):
    clipping = dict(renorm_clipping or {})
    unknown = set(clipping) - set(_RENORM_KEYS)
    if unknown:
        raise ValueError(
            f"Received invalid keys for `renorm_clipping` argument: {renorm_clipping}. Supported "
            f"values: {list(_RENORM_KEYS)}."
        )
    rmax, rmin, dmax = (clipping.get(k) for k in _RENORM_KEYS)
    if rmax is not None and rmin is not None and rmax < rmin:
        raise ValueError(
            "rmax should be greater than rmin in the `renorm_clipping` argument. Received: "
            f"rmax={rmax}, rmin={rmin}."
        )
    if dmax is not None and dmax < 0:
        raise ValueError(
            f"dmax should be non-negative in the `renorm_clipping` argument. Received: dmax={dmax}."
        )
    return clipping


def _pop_keras2_arguments(kwargs):
    """Keras 2 arguments Keras 3 dropped: accepted at the values that change nothing."""
    fused = kwargs.pop("fused", None)
    if fused not in (None, True, False):
        raise ValueError(f"`fused` must be None, True or False. Received: fused={fused!r}")
    for name in ("virtual_batch_size", "adjustment"):
        value = kwargs.pop(name, None)
        if value is not None:
            raise ValueError(
                f"BatchNormalization does not support `{name}` (a Keras 2 option that Keras 3 "
                f"dropped); only `{name}=None` is accepted. Received: {name}={value!r}"
            )


@register_builtin("keras.layers")
class BatchNormalization(Layer):
    """Layer that normalizes its inputs with batch statistics (training) or moving averages.

    In training (``fit()``, or a call with ``training=True``) the output is
    ``gamma * (x - mean(x)) / sqrt(var(x) + epsilon) + beta`` with the mean and (biased) variance
    of the current batch over every axis but ``axis``, and the moving statistics are updated:
    ``moving = moving * momentum + batch_statistic * (1 - momentum)``. In inference
    (``evaluate()``, ``predict()``, or ``training`` false or unset) the moving statistics are used.

    Setting ``layer.trainable = False`` freezes the layer *and* makes it run in inference mode,
    even inside ``fit()`` (Keras 3 semantics).

    Args:
        axis: Integer, the features axis to normalize (``-1`` for channels_last, ``1`` after a
            channels_first convolution). A list of ints (Keras 2) keeps several axes; the weights
            then have the input's rank with size 1 on the reduced axes.
        momentum: Momentum of the moving averages.
        epsilon: Small float added to the variance to avoid dividing by zero.
        center: If ``True``, add the offset ``beta``.
        scale: If ``True``, multiply by ``gamma``.
        beta_initializer, gamma_initializer: Initializers of the offset and scale.
        moving_mean_initializer, moving_variance_initializer: Initializers of the moving statistics.
        beta_regularizer, gamma_regularizer: Optional regularizers of ``beta`` and ``gamma``.
        beta_constraint, gamma_constraint: Optional constraints of ``beta`` and ``gamma``.
        renorm: Whether to use batch renormalization (adds the non-trainable weights
            ``moving_stddev``, ``renorm_mean`` and ``renorm_stddev``); inference is unchanged.
        renorm_clipping: Dict with optional keys ``"rmax"``, ``"rmin"``, ``"dmax"`` clipping the
            renormalization correction ``(r, d)``.
        renorm_momentum: Momentum of the renormalization statistics.
        synchronized: If ``True`` and a ``torch.distributed`` process group is initialized, the
            batch statistics are those of the global batch of all processes. (``fit`` under
            ``DataParallel(sync_batchnorm=True)`` synchronizes every BatchNormalization layer
            while it trains, whatever this argument says.)
        fused, virtual_batch_size, adjustment: Keras 2 arguments; ``fused`` is accepted and has
            no effect (the fused kernel is used whenever it computes the same numbers), the other
            two are accepted only as ``None``.

    Call arguments:
        inputs: Input tensor of any rank.
        training: Whether to normalize with batch statistics and update the moving ones.
        mask: Optional boolean tensor of the input's shape without its last axis; masked-out
            positions are left out of the batch statistics.

    Input shape:
        Arbitrary.

    Output shape:
        Same as the input.

    Example:

    >>> layer = lamina.layers.BatchNormalization()
    >>> x = np.random.rand(8, 3).astype("float32")
    >>> y = layer(x, training=True)
    >>> [w.name for w in layer.weights]
    ['gamma', 'beta', 'moving_mean', 'moving_variance']
    """

    # Set while `fit` runs under `DataParallel(sync_batchnorm=True)` (not part of the config).
    _synchronized_by_loop = False

    _promotes_non_float_inputs = True

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        synchronized=False,
        **kwargs,
    ):
        _pop_keras2_arguments(kwargs)
        super().__init__(**kwargs)
        self.axis = _standardize_axis(axis)
        try:
            self.momentum = float(momentum)
            self.epsilon = float(epsilon)
            self.renorm_momentum = float(renorm_momentum)
        except (TypeError, ValueError):
            raise ValueError(
                "`momentum`, `epsilon` and `renorm_momentum` must be floats. Received: "
                f"momentum={momentum!r}, epsilon={epsilon!r}, renorm_momentum={renorm_momentum!r}"
            ) from None
        if self.epsilon < 0:
            raise ValueError(f"`epsilon` must be non-negative. Received: epsilon={epsilon}")
        self.center = bool(center)
        self.scale = bool(scale)
        self.synchronized = bool(synchronized)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.renorm = bool(renorm)
        self._clipping = _validate_renorm_clipping(renorm_clipping) if self.renorm else {}
        self.renorm_clipping = renorm_clipping
        self.supports_masking = True
        self.gamma = None
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None
        self._axes = None

    # --- building -------------------------------------------------------------------------------
    def _canonical_axes(self, input_shape):
        ndim = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(
                    f"Axis {a} is out of bounds for input shape {tuple(input_shape)} of layer "
                    f"'{self.name}'. Received: axis={self.axis}"
                )
        canonical = sorted(a % ndim for a in axes)
        if len(set(canonical)) != len(canonical):
            raise ValueError(f"Layer '{self.name}' got the same axis twice in axis={self.axis}.")
        return canonical

    def build(self, input_shape):
        axes = self._canonical_axes(input_shape)
        for a in axes:
            if input_shape[a] is None:
                raise ValueError(
                    f"Axis {a} of the input to BatchNormalization layer '{self.name}' should have a "
                    f"defined dimension, but the layer received an input with shape "
                    f"{tuple(input_shape)}."
                )
        if len(axes) == 1:
            shape = (input_shape[axes[0]],)
            spec_axes = {self.axis: input_shape[self.axis]}
        else:
            shape = tuple(input_shape[i] if i in axes else 1 for i in range(len(input_shape)))
            spec_axes = {a: input_shape[a] for a in axes}
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape,
                name="gamma",
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                autocast=False,
            )
        if self.center:
            self.beta = self.add_weight(
                shape=shape,
                name="beta",
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                autocast=False,
            )
        self.moving_mean = self.add_weight(
            shape=shape, name="moving_mean", initializer=self.moving_mean_initializer,
            trainable=False, autocast=False,
        )
        self.moving_variance = self.add_weight(
            shape=shape, name="moving_variance", initializer=self.moving_variance_initializer,
            trainable=False, autocast=False,
        )
        if self.renorm:
            # Batch renormalization tracks standard deviations, started at sqrt(initial variance).
            def stddev_initializer(shape, dtype=None):
                return torch.sqrt(torch.as_tensor(self.moving_variance_initializer(shape, dtype=dtype)))

            self.moving_stddev = self.add_weight(
                shape=shape, name="moving_stddev", initializer=stddev_initializer,
                trainable=False, autocast=False,
            )
            self.renorm_mean = self.add_weight(
                shape=shape, name="renorm_mean", initializer=self.moving_mean_initializer,
                trainable=False, autocast=False,
            )
            self.renorm_stddev = self.add_weight(
                shape=shape, name="renorm_stddev", initializer=stddev_initializer,
                trainable=False, autocast=False,
            )
        self.input_spec = InputSpec(ndim=len(input_shape), axes=spec_axes)
        self._axes = axes
        self.built = True

    # --- calling --------------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        if mask is not None and mask.dim() != inputs.dim() - 1:
            raise ValueError(
                f"The mask given to BatchNormalization layer '{self.name}' should have one "
                f"dimension less than the inputs. Received: mask.shape={tuple(mask.shape)}, "
                f"inputs.shape={tuple(inputs.shape)}"
            )
        if _inference.absorbed(self, inputs, training):
            return inputs  # folded into the convolution before it (predict / evaluate)
        x = _ops.compute_dtype(inputs)
        # Moving statistics are never updated while shapes are inferred on meta tensors.
        if training and self._trainable and not SCOPE.symbolic:
            outputs = self._train(x, mask)
        else:
            outputs = self._infer(x)
        if outputs.dtype != self._compute_torch_dtype:
            outputs = outputs.to(self._compute_torch_dtype)
        return outputs

    def _fused_ok(self, x):
        return len(self._axes) == 1 and self.moving_mean.dtype == x.dtype

    def _infer(self, x):
        if self._fused_ok(x):
            return _ops.fused_batch_norm_inference(
                x, self._axes[0], self.gamma, self.beta, self.moving_mean, self.moving_variance,
                self.epsilon,
            )
        axes = self._axes
        mean = _ops.expand_to(self.moving_mean, x, axes)
        variance = _ops.expand_to(self.moving_variance, x, axes)
        return _ops.normalize_with(x, axes, mean, variance, self.gamma, self.beta, self.epsilon)

    def _train(self, x, mask):
        axes = self._axes
        distributed = (self.synchronized or self._synchronized_by_loop) and _ops.distributed_world_size() > 1
        if (
            mask is None
            and not self.renorm
            and not distributed
            and self._fused_ok(x)
            and x.numel() > x.shape[axes[0]]
            # The fused kernel updates the statistics in place; a StatelessScope collects them.
            and SCOPE.stateless is None
        ):
            return _ops.fused_batch_norm_train(
                x, axes[0], self.gamma, self.beta, self.moving_mean, self.moving_variance,
                self.momentum, self.epsilon,
            )
        mean, variance, count = _ops.batch_moments(x, axes, mask)
        if distributed:
            mean, variance, count = _ops.all_reduce_moments(mean, variance, count)
        shape = self.moving_mean.shape
        batch_mean = mean.reshape(shape)
        batch_variance = variance.reshape(shape)
        gamma, beta = self.gamma, self.beta
        if self.renorm:
            gamma, beta = self._renorm_transform(batch_mean, batch_variance)
        else:
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + batch_mean.detach() * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + batch_variance.detach() * (1.0 - m))
        return _ops.normalize_with(x, axes, mean, variance, gamma, beta, self.epsilon)

    def _renorm_transform(self, mean, variance):
        """The effective scale and offset ``(r * gamma, d * gamma + beta)`` of batch
        renormalization, and the update of its statistics."""
        r, d = _ops.renorm_correction(
            mean, variance, self.renorm_mean, self.renorm_stddev, self.epsilon, self._clipping
        )
        if self.gamma is not None:
            gamma, beta = r * self.gamma, d * self.gamma
        else:
            gamma, beta = r, d
        if self.beta is not None:
            beta = beta + self.beta
        mean, stddev = mean.detach(), torch.sqrt(variance.detach() + self.epsilon)
        rm, m = self.renorm_momentum, self.momentum
        self.renorm_mean.assign(self.renorm_mean * rm + mean * (1.0 - rm))
        self.renorm_stddev.assign(self.renorm_stddev * rm + stddev * (1.0 - rm))
        self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
        new_stddev = self.moving_stddev * m + stddev * (1.0 - m)
        self.moving_stddev.assign(new_stddev)
        # Rounding can push stddev**2 - epsilon below zero.
        self.moving_variance.assign(torch.relu(new_stddev * new_stddev - self.epsilon))
        return gamma, beta

    def compute_output_shape(self, input_shape):
        self._canonical_axes(input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        s = serialization_lib.serialize_keras_object
        config.update(
            {
                "axis": self.axis,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": s(self.beta_initializer),
                "gamma_initializer": s(self.gamma_initializer),
                "moving_mean_initializer": s(self.moving_mean_initializer),
                "moving_variance_initializer": s(self.moving_variance_initializer),
                "beta_regularizer": s(self.beta_regularizer),
                "gamma_regularizer": s(self.gamma_regularizer),
                "beta_constraint": s(self.beta_constraint),
                "gamma_constraint": s(self.gamma_constraint),
                "synchronized": self.synchronized,
                "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping,
                "renorm_momentum": self.renorm_momentum,
            }
        )
        return config
