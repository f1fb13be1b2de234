"""Distillation losses: how a student's outputs (or features) are pulled toward a teacher's."""

from lamina import losses, ops, tree
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin


def _as_loss(item):
    if item is None:
        return None
    if isinstance(item, str):
        loss = losses.get(item)
        if loss is None:
            raise ValueError(f"Unknown loss function: '{item}'.")
        return loss
    return item


def _structure(values):
    return tree.map_structure(lambda _: "*", values)


def _sum_of(values):
    return ops.sum(ops.stack([ops.convert_to_tensor(v, "float32") for v in tree.flatten(values)]))


@register_builtin("keras.distillation")
class DistillationLoss:
    """Base class of distillation losses used by `Distiller`.

    Subclasses implement ``compute_loss(teacher_outputs, student_outputs)`` returning a
    scalar, and may check the models (``validate_model_compatibility``) and the outputs
    (``validate_outputs``) before use.
    """

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        """The scalar distillation loss between teacher and student outputs."""
        raise NotImplementedError("Subclasses must implement compute_loss")

    def validate_outputs(self, teacher_outputs, student_outputs):
        """Raise a ValueError when the two outputs have different structures."""
        tree.assert_same_structure(teacher_outputs, student_outputs)

    def validate_model_compatibility(self, teacher, student):
        """Raise a ValueError when this loss cannot be used with these models."""


@register_builtin("keras.distillation")
class FeatureDistillation(DistillationLoss):
    """Match intermediate features (or final outputs) of the student to the teacher's.

    Args:
        loss: Loss (name, function or `Loss`) between teacher and student features, or a
            structure of losses matching the outputs (``None`` entries are skipped).
            Defaults to ``"mse"``.
        teacher_layer_name: Name of the teacher layer whose output is matched (``None``: the
            final output). Needs a functional or sequential teacher.
        student_layer_name: Name of the student layer matched to it.

    Example:

    >>> loss = lamina.distillation.FeatureDistillation(
    ...     loss="mse", teacher_layer_name="t_hidden", student_layer_name="s_hidden")
    """

    def __init__(self, loss="mse", teacher_layer_name=None, student_layer_name=None):
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self.loss = tree.map_structure(_as_loss, loss)
        if all(item is None for item in tree.flatten(self.loss)):
            raise ValueError(
                "The `loss` argument in `FeatureDistillation` must contain at least one "
                "non-`None` value."
            )

    def validate_model_compatibility(self, teacher, student):
        if self.teacher_layer_name is not None or self.student_layer_name is not None:
            subclassed = [
                role for role, model in (("teacher", teacher), ("student", student))
                if getattr(model, "inputs", None) is None
            ]
            if subclassed:
                raise ValueError(
                    "FeatureDistillation with specific layer names requires Functional or "
                    f"Sequential models. The {' and '.join(subclassed)} model(s) appear to be "
                    "subclassed (no symbolic inputs/outputs). Either use Functional/Sequential "
                    "models, or use FeatureDistillation without layer names (to distill final "
                    "outputs only), or use LogitsDistillation instead."
                )
        for role, model, name in (
            ("teacher", teacher, self.teacher_layer_name),
            ("student", student, self.student_layer_name),
        ):
            if name is not None:
                try:
                    model.get_layer(name=name)
                except ValueError as e:
                    raise ValueError(f"In {role} model: {e}") from None

    def validate_outputs(self, teacher_outputs, student_outputs):
        super().validate_outputs(teacher_outputs, student_outputs)
        try:
            tree.assert_same_structure(self.loss, teacher_outputs)
        except ValueError as e:
            raise ValueError(
                f"Loss structure mismatch. Loss structure: {_structure(self.loss)}, "
                f"Output structure: {_structure(teacher_outputs)}. Error: {e}"
            ) from None

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        def one(loss, teacher, student):
            return 0.0 if loss is None else ops.mean(loss(teacher, student))

        return _sum_of(tree.map_structure(one, self.loss, teacher_outputs, student_outputs))

    def get_config(self):
        return {
            "loss": losses.serialize(self.loss),
            "teacher_layer_name": self.teacher_layer_name,
            "student_layer_name": self.student_layer_name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = losses.deserialize(config["loss"])
        return cls(**config)


@register_builtin("keras.distillation")
class LogitsDistillation(DistillationLoss):
    """Match the student's logits to the teacher's, softened by a temperature.

    Both logits are divided by ``temperature``. With the KL divergence (the default) they are
    turned into probabilities with a softmax and the loss is scaled by ``temperature**2``,
    which keeps its gradients' size independent of the temperature; other losses see the
    scaled logits.

    Args:
        temperature: Positive softening temperature. Defaults to 3.
        loss: Loss (name, function or `Loss`), or a structure of losses matching the outputs.
            Defaults to ``"kl_divergence"``.

    Example:

    >>> loss = lamina.distillation.LogitsDistillation(temperature=4.0)
    """

    def __init__(self, temperature=3.0, loss="kl_divergence"):
        self.temperature = temperature
        self.loss = tree.map_structure(_as_loss, loss)
        if all(item is None for item in tree.flatten(self.loss)):
            raise ValueError("At least one loss must be non-`None`.")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise ValueError(f"temperature must be a number, got {type(temperature)}")
        if temperature <= 0.0:
            raise ValueError(f"temperature must be positive. Received: temperature={temperature}")

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        t = self.temperature

        def one(loss, teacher, student):
            if loss is None:
                return 0.0
            teacher, student = ops.divide(teacher, t), ops.divide(student, t)
            if isinstance(loss, losses.KLDivergence):
                value = ops.mean(loss(ops.softmax(teacher, axis=-1), ops.softmax(student, axis=-1)))
                return value * (t**2)
            return ops.mean(loss(teacher, student))

        return _sum_of(tree.map_structure(one, self.loss, teacher_outputs, student_outputs))

    def get_config(self):
        return {
            "temperature": self.temperature,
            "loss": serialization_lib.serialize_keras_object(self.loss),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = losses.deserialize(config["loss"])
        return cls(**config)
