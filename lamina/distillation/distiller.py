"""``Distiller``: a model that trains a student from a frozen teacher (knowledge distillation)."""

from lamina import losses, metrics, ops, tree
from lamina.distillation.distillation_loss import _as_loss
from lamina.models import Model, Sequential
from lamina.saving import serialization_lib
from lamina.saving.object_registration import register_builtin
from lamina.trainers import trainer_utils


def _check_shapes(teacher_shape, student_shape, context):
    if len(teacher_shape) != len(student_shape):
        raise ValueError(
            f"Teacher and student {context} shapes have different dimensions. "
            f"Teacher: {teacher_shape}, Student: {student_shape}."
        )
    for a, b in zip(teacher_shape, student_shape):
        if a is not None and b is not None and a != b:
            raise ValueError(
                f"Teacher and student {context} shapes are incompatible. Teacher: "
                f"{teacher_shape}, Student: {student_shape}. All dimensions must match."
            )


def _check_dtypes(teacher_dtype, student_dtype, context):
    if teacher_dtype != student_dtype:
        raise ValueError(
            f"Teacher and student {context} dtypes must match. "
            f"Teacher: {teacher_dtype}, Student: {student_dtype}."
        )


def _symbolic(model, attr):
    try:
        return getattr(model, attr, None)
    except (AttributeError, ValueError):
        return None


def _validate_models(teacher, student):
    for role, model in (("Teacher", teacher), ("Student", student)):
        if not isinstance(model, Model):
            raise ValueError(f"{role} must be a lamina.Model, got {type(model)}")
    for attr, context in (("inputs", "input"), ("outputs", "output")):
        t, s = _symbolic(teacher, attr), _symbolic(student, attr)
        if t is None or s is None:
            continue
        tree.map_structure(lambda a, b: _check_shapes(a.shape, b.shape, context), t, s)
        tree.map_structure(lambda a, b: _check_dtypes(a.dtype, b.dtype, context), t, s)


def _feature_extractor(model, layer_names):
    """A functional model returning the final output and the named layers' outputs (a dict)."""
    if not layer_names:
        return None
    if _symbolic(model, "inputs") is None:
        raise ValueError(
            f"Cannot create feature extractor for {model.name}. The model has no symbolic "
            "inputs attribute."
        )
    final = model.layers[-1].output if isinstance(model, Sequential) else model.output
    outputs = {"final_output": final}
    for name in layer_names:
        outputs[name] = model.get_layer(name=name).output
    return Model(inputs=model.inputs, outputs=outputs, name=f"{model.name}_multi_feature_extractor")


@register_builtin("keras.distillation")
class Distiller(Model):
    """Train a student model to match a frozen teacher, alongside (or instead of) the labels.

    The loss is ``student_loss_weight * student_loss + (1 - student_loss_weight) *
    sum(weight_i * distillation_loss_i)``, where the student loss is the one given to
    `compile` (against the labels) and each distillation loss compares teacher and student
    outputs (`LogitsDistillation`) or intermediate features (`FeatureDistillation`). The
    teacher is frozen; calling the distiller calls the student. ``student_loss``,
    ``distillation_loss`` and ``total_loss`` are tracked as metrics.

    Args:
        teacher: A trained model (frozen by the distiller).
        student: The model to train; its inputs and outputs must match the teacher's.
        distillation_losses: A `DistillationLoss` or a list of them.
        distillation_loss_weights: Weights of the distillation losses (default all 1).
        student_loss_weight: Weight in [0, 1] of the student loss. Defaults to 0.5.
        name: Name of the model.

    Example:

    >>> distiller = lamina.distillation.Distiller(
    ...     teacher=teacher, student=student,
    ...     distillation_losses=lamina.distillation.LogitsDistillation(temperature=3.0),
    ...     student_loss_weight=0.1)
    >>> distiller.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    ...                   metrics=["accuracy"])
    >>> distiller.fit(x_train, y_train, epochs=5)
    >>> student_predictions = distiller.student.predict(x_test)
    """

    def __init__(
        self,
        teacher,
        student,
        distillation_losses,
        distillation_loss_weights=None,
        student_loss_weight=0.5,
        name="distiller",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        _validate_models(teacher, student)
        self.teacher = teacher
        self.student = student
        if isinstance(student_loss_weight, bool) or not isinstance(student_loss_weight, (int, float)):
            raise ValueError(f"student_loss_weight must be a number, got {type(student_loss_weight)}")
        if not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(
                f"student_loss_weight must be between 0.0 and 1.0, got {student_loss_weight}"
            )
        self.student_loss_weight = student_loss_weight
        if distillation_losses is None:
            raise ValueError(
                "'distillation_losses' cannot be `None`. Provide a distillation loss (e.g., "
                "LogitsDistillation or FeatureDistillation) or a list of distillation losses."
            )
        if not isinstance(distillation_losses, (list, tuple)):
            distillation_losses, distillation_loss_weights = [distillation_losses], [1.0]
        elif distillation_loss_weights is None:
            distillation_loss_weights = [1.0] * len(distillation_losses)
        elif len(distillation_loss_weights) != len(distillation_losses):
            raise ValueError(
                f"Number of distillation_loss_weights ({len(distillation_loss_weights)}) must "
                f"match number of distillation_losses ({len(distillation_losses)})"
            )
        # Held in private attributes: plain objects, not layers or weights to track.
        self._distillation_losses = list(distillation_losses)
        self._distillation_loss_weights = list(distillation_loss_weights)
        for loss in self._distillation_losses:
            loss.validate_model_compatibility(teacher, student)
        self._teacher_features = _feature_extractor(teacher, self._layer_names("teacher_layer_name"))
        self._student_features = _feature_extractor(student, self._layer_names("student_layer_name"))
        self.teacher.trainable = False
        self.student_loss_tracker = metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = metrics.Mean(name="distillation_loss")
        self.total_loss_tracker = metrics.Mean(name="total_loss")

    @property
    def distillation_losses(self):
        return self._distillation_losses

    @property
    def distillation_loss_weights(self):
        return self._distillation_loss_weights

    def _layer_names(self, attr):
        names = []
        for loss in self._distillation_losses:
            name = getattr(loss, attr, None)
            if name and name not in names:
                names.append(name)
        return names

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Compile with the student's ``loss`` (against the labels); see `Model.compile`."""
        if loss is None:
            raise ValueError("'loss' cannot be `None`.")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"metrics must be a list or tuple, got {type(metrics)}")
        if isinstance(loss, dict) and "class_name" in loss:  # a serialized loss (load_model)
            loss = losses.get(loss)
        self._student_loss = tree.map_structure(_as_loss, loss)
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)
        # The student loss goes into the compile config, so a saved distiller recompiles on load.
        self._compile_config = {**self._compile_config, **trainer_utils.compile_config(loss=loss)}

    def compile_from_config(self, config):
        """Compile with a saved compile config (which holds the student loss: see ``compile``)."""
        self._compile_with_config(config)

    def call(self, inputs, training=None, **kwargs):
        return self.student(inputs, training=training, **kwargs)

    def _features(self, loss, teacher_features, student_features):
        t_name = loss.teacher_layer_name or "final_output"
        s_name = loss.student_layer_name or "final_output"
        for name, features in ((t_name, teacher_features), (s_name, student_features)):
            if name not in features:
                raise RuntimeError(
                    f"Failed to extract features for {type(loss).__name__} targeting teacher "
                    f"layer '{loss.teacher_layer_name}' and student layer "
                    f"'{loss.student_layer_name}'. Layer '{name}' not found in extracted "
                    f"features. Available: {list(features)}"
                )
        return teacher_features[t_name], student_features[s_name]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y_pred is None:
            y_pred = self(x, training=training)
        student_loss = 0.0
        if self.student_loss_weight > 0.0 and y is not None:
            values = tree.flatten(
                tree.map_structure(lambda fn, t, p: fn(t, p), self._student_loss, y, y_pred)
            )
            student_loss = ops.sum(ops.stack(values)) if len(values) > 1 else values[0]
            if len(getattr(student_loss, "shape", ())) > 0:
                student_loss = ops.mean(student_loss)
        distillation_loss = 0.0
        if self.student_loss_weight < 1.0:
            teacher_features = (
                self._teacher_features(x, training=False) if self._teacher_features is not None
                else {"final_output": self.teacher(x, training=False)}
            )
            student_features = (
                self._student_features(x, training=True) if self._student_features is not None
                else {"final_output": y_pred}
            )
            for loss, weight in zip(self._distillation_losses, self._distillation_loss_weights):
                if getattr(loss, "teacher_layer_name", None) is not None:
                    teacher_out, student_out = self._features(loss, teacher_features, student_features)
                else:
                    teacher_out, student_out = teacher_features["final_output"], y_pred
                loss.validate_outputs(teacher_out, student_out)
                value = loss.compute_loss(teacher_out, student_out)
                if len(getattr(value, "shape", ())) > 0:
                    raise ValueError(
                        f"Distillation loss {type(loss).__name__} returned a non-scalar loss "
                        f"with shape {tuple(value.shape)}. The compute_loss method must return "
                        "a scalar tensor."
                    )
                distillation_loss = ops.add(distillation_loss, ops.multiply(weight, value))
        total = ops.add(
            ops.multiply(self.student_loss_weight, student_loss),
            ops.multiply(1.0 - self.student_loss_weight, distillation_loss),
        )
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation_loss)
        self.total_loss_tracker.update_state(total)
        return ops.convert_to_tensor(total, "float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "teacher": serialization_lib.serialize_keras_object(self.teacher),
                "student": serialization_lib.serialize_keras_object(self.student),
                "distillation_losses": [
                    serialization_lib.serialize_keras_object(loss) for loss in self._distillation_losses
                ],
                "distillation_loss_weights": self._distillation_loss_weights,
                "student_loss_weight": self.student_loss_weight,
            }
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("teacher", "student"):
            config[key] = serialization_lib.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        config["distillation_losses"] = [
            serialization_lib.deserialize_keras_object(loss, custom_objects=custom_objects)
            for loss in config["distillation_losses"]
        ]
        return cls(**config)
