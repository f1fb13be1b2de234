"""Muon: orthogonalized momentum for matrices, AdamW for everything else."""

import re

import torch

from lamina.optimizers._multi_tensor import MultiTensorOptimizer, cast_scalar
from lamina.saving import object_registration


@object_registration.register_builtin("keras.optimizers")
class Muon(MultiTensorOptimizer):
    """Muon (MomentUm Orthogonalized by Newton-Schulz, Jordan et al. 2024).

    A 2D variable (a dense kernel) takes an SGD-momentum step whose direction is replaced by an
    approximately orthogonal matrix of the same shape (a few Newton-Schulz iterations), scaled by
    ``sqrt(max(rows, cols)) * rms_rate`` so that its size matches an Adam step (Liu et al. 2025)::

        m = momentum * m + g
        d = g + momentum * m            # nesterov=True, else d = m
        w = w - lr * newton_schulz(d) * sqrt(max(rows, cols)) * rms_rate

    The other variables take an AdamW step with ``learning_rate * adam_lr_ratio``:

    - every variable that is not 2D (biases, convolution kernels, normalization scales);
    - with `exclude_embeddings`, every variable whose path contains ``"embedding"``;
    - every variable whose path matches one of the regular expressions in `exclude_layers`
      (typically the output layer, e.g. ``exclude_layers=["output_dense"]``).

    Decoupled weight decay uses `weight_decay` for the Muon variables and `adam_weight_decay`
    for the AdamW ones.

    Args:
        learning_rate: Float, `LearningRateSchedule` or callable. Defaults to 0.001.
        adam_beta_1: Float, AdamW's first-moment decay rate. Defaults to 0.9.
        adam_beta_2: Float, AdamW's second-moment decay rate. Defaults to 0.999.
        adam_weight_decay: Float or `None`, the decay of the AdamW variables. Defaults to 0.004.
        epsilon: Small float added to AdamW's denominator. Defaults to 1e-7.
        weight_decay: Float or `None`, the decay of the Muon variables. Defaults to 0.004.
        clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
            loss_scale_factor, gradient_accumulation_steps, name: See `Optimizer`.
        exclude_layers: List of regular expressions; variables whose path matches one use AdamW.
        exclude_embeddings: Whether variables with ``"embedding"`` in their path use AdamW.
            Defaults to `True`.
        muon_a, muon_b, muon_c: Floats, the coefficients of the quintic Newton-Schulz iteration
            ``x = a * x + (b * A + c * A @ A) @ x`` with ``A = x @ x.T``. Defaults to
            3.4445, -4.7750 and 2.0315.
        adam_lr_ratio: Float, the AdamW learning rate as a multiple of `learning_rate`.
            Defaults to 1.
        momentum: Float, the momentum of the Muon variables. Defaults to 0.95.
        ns_steps: Int, the number of Newton-Schulz iterations. Defaults to 5.
        nesterov: Whether to use Nesterov momentum. Defaults to `True`.
        rms_rate: Float or `None`, the scale of the Muon update relative to
            ``sqrt(max(rows, cols))``; `None` leaves the orthogonalized update unscaled.
            Defaults to 0.2.

    Example:

    >>> optimizer = lamina.optimizers.Muon(learning_rate=1e-3, exclude_layers=["output"])
    >>> model.compile(optimizer=optimizer, loss="mse")
    """

    def __init__(
        self,
        learning_rate=0.001,
        adam_beta_1=0.9,
        adam_beta_2=0.999,
        adam_weight_decay=0.004,
        epsilon=1e-7,
        weight_decay=0.004,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        exclude_layers=None,
        exclude_embeddings=True,
        muon_a=3.4445,
        muon_b=-4.7750,
        muon_c=2.0315,
        adam_lr_ratio=1,
        momentum=0.95,
        ns_steps=5,
        nesterov=True,
        rms_rate=0.2,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            name=name,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            **kwargs,
        )
        if isinstance(exclude_layers, str) or not isinstance(exclude_layers, (list, tuple, type(None))):
            raise TypeError(
                "Argument `exclude_layers` must be a list of strings (regular expressions). "
                f"Received: exclude_layers={exclude_layers!r}"
            )
        if int(ns_steps) != ns_steps or ns_steps < 0:
            raise ValueError(f"Argument `ns_steps` must be an integer >= 0. Received: ns_steps={ns_steps}")
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a = muon_a
        self.muon_b = muon_b
        self.muon_c = muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = list(exclude_layers or [])
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate

    def _should_use_adamw(self, variable):
        """Whether `variable` takes the AdamW step (see the class docstring for the rules)."""
        if len(variable.shape) != 2:
            return True
        path = _path(variable)
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(keyword, path) for keyword in self.exclude_layers)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # One momentum per variable, then a velocity right after it for the AdamW ones: the
        # order of `variables` (and of a saved file) is Keras's.
        self.momentums = [None] * len(var_list)
        self.adam_velocities = [None] * len(var_list)
        for i, variable in enumerate(var_list):
            if getattr(variable, "overwrite_with_gradient", False):
                continue
            self.momentums[i] = self.add_variable_from_reference(variable, name="momentum")
            if self._should_use_adamw(variable):
                self.adam_velocities[i] = self.add_variable_from_reference(variable, name="velocity")

    def _update_many(self, grads, variables, learning_rate):
        index = self._trainable_variables_indices
        adam, muon = [], []
        for g, v in zip(grads, variables):
            (adam if self.adam_velocities[index[id(v)]] is not None else muon).append((g, v))
        if adam:
            self._adamw_update([p[0] for p in adam], [p[1] for p in adam], learning_rate)
        if muon:
            self._muon_update([p[0] for p in muon], [p[1] for p in muon], learning_rate)

    def _adamw_update(self, grads, variables, learning_rate):
        like = variables[0]
        lr = cast_scalar(learning_rate * self.adam_lr_ratio, like)
        step = self._local_step(like)
        beta_1 = torch.tensor(self.adam_beta_1, dtype=like.dtype, device=like.device)
        beta_2 = torch.tensor(self.adam_beta_2, dtype=like.dtype, device=like.device)
        alpha = lr * torch.sqrt(1.0 - torch.pow(beta_2, step)) / (1.0 - torch.pow(beta_1, step))
        m = self._gather(self.momentums, variables)
        v = self._gather(self.adam_velocities, variables)
        torch._foreach_add_(m, torch._foreach_mul(torch._foreach_sub(grads, m), 1 - self.adam_beta_1))
        squares = torch._foreach_mul(grads, grads)
        torch._foreach_add_(v, torch._foreach_mul(torch._foreach_sub(squares, v), 1 - self.adam_beta_2))
        denominator = torch._foreach_sqrt(v)
        torch._foreach_add_(denominator, self.epsilon)
        torch._foreach_sub_(variables, torch._foreach_div(torch._foreach_mul(m, alpha), denominator))

    def _muon_update(self, grads, variables, learning_rate):
        lr = cast_scalar(learning_rate, variables[0])
        m = self._gather(self.momentums, variables)
        # m = momentum * m + g, written as Keras rounds it: m + (g + m * (momentum - 1)).
        torch._foreach_add_(m, torch._foreach_add(grads, torch._foreach_mul(m, self.momentum - 1)))
        if self.nesterov:
            directions = torch._foreach_add(grads, torch._foreach_mul(m, self.momentum))
        else:
            directions = m
        # Matrices of the same shape are orthogonalized together, as one batched iteration.
        by_shape = {}
        for position, variable in enumerate(variables):
            by_shape.setdefault(tuple(variable.shape), []).append(position)
        for shape, positions in by_shape.items():
            stacked = torch.stack([directions[i] for i in positions])
            update = lr * zeropower_via_newton_schulz(stacked, self.ns_steps, self.muon_a, self.muon_b, self.muon_c)
            if self.rms_rate is not None:
                scale = torch.sqrt(torch.tensor(float(max(shape[0], shape[1])), dtype=update.dtype))
                update = update * scale.item() * self.rms_rate
            torch._foreach_sub_([variables[i] for i in positions], list(update.unbind(0)))

    def _apply_weight_decay(self, variables, learning_rate):
        groups = {}
        for variable in variables:
            if not self._use_weight_decay(variable):
                continue
            decay = self.adam_weight_decay if self._should_use_adamw(variable) else self.weight_decay
            if decay is not None:
                groups.setdefault(decay, []).append(variable)
        for decay, decayed in groups.items():
            lr = cast_scalar(learning_rate, decayed[0])
            # variable - variable * wd * lr, in Keras's order of rounding.
            shrink = torch._foreach_mul(decayed, decay)
            torch._foreach_mul_(shrink, lr)
            torch._foreach_sub_(decayed, shrink)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "adam_beta_1": self.adam_beta_1,
                "adam_beta_2": self.adam_beta_2,
                "epsilon": self.epsilon,
                "exclude_layers": self.exclude_layers,
                "muon_a": self.muon_a,
                "muon_b": self.muon_b,
                "muon_c": self.muon_c,
                "adam_lr_ratio": self.adam_lr_ratio,
                "momentum": self.momentum,
                "ns_steps": self.ns_steps,
                "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay,
                "rms_rate": self.rms_rate,
            }
        )
        return config


def zeropower_via_newton_schulz(x, steps, a=3.4445, b=-4.7750, c=2.0315):
    """An approximately orthogonal matrix with the singular vectors of `x` (last two axes).

    The quintic iteration ``x = a * x + (b * A + c * A @ A) @ x`` with ``A = x @ x^T``, started
    from `x` divided by its Frobenius norm, pushes every singular value towards 1 (to roughly
    ``[0.7, 1.2]`` with the default coefficients) without computing an SVD. It runs on the wide
    orientation so that ``A`` is the smaller Gram matrix.
    """
    if x.ndim < 2:
        raise ValueError(
            f"Expected gradient or momentum to have at least 2 dimensions. Received: shape={tuple(x.shape)}"
        )
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = x.transpose(-2, -1)
    x = x / (torch.linalg.matrix_norm(x, keepdim=True) + 1e-7)
    for _ in range(steps):
        gram = x @ x.transpose(-2, -1)
        x = a * x + (b * gram + (c * gram) @ gram) @ x
    if tall:
        x = x.transpose(-2, -1)
    return x


def _path(variable):
    path = getattr(variable, "path", None)
    return path if path is not None else str(variable.name)
