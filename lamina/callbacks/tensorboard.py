"""``TensorBoard``: write training logs as TensorBoard event files.

The files are written with the ``tensorboard`` package (through ``torch.utils.tensorboard``'s
writer), in Keras's layout: ``log_dir/train`` and ``log_dir/validation`` hold one event file each,
with Keras's tag names (``epoch_loss``, ``batch_loss``, ``epoch_learning_rate``,
``evaluation_loss_vs_iterations``, ``<weight path>/histogram``), so TensorBoard shows the same
charts for a Lamina run as for a Keras run.
"""

import datetime
import os
import socket
import time

import numpy as np

from lamina.callbacks.callback import Callback, DeferredLogs
from lamina.layers.core.embedding import Embedding
from lamina.saving.object_registration import register_builtin

_INSTALL_HINT = (
    "`lamina.callbacks.TensorBoard` needs the `tensorboard` package. Install it with "
    "`pip install tensorboard` (or `pip install lamina[tensorboard]`)."
)


def _summary_writer_class():
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise ImportError(_INSTALL_HINT) from e
    return SummaryWriter


def _parse_profile_batch(profile_batch):
    message = (
        "`profile_batch` must be a non-negative integer or a 2-tuple of positive integers "
        f"(a range of batches to profile). Received: profile_batch={profile_batch!r}"
    )
    try:
        if isinstance(profile_batch, str):
            profile_batch = [int(p) for p in profile_batch.split(",")]
        if isinstance(profile_batch, bool):
            raise ValueError(message)
        if isinstance(profile_batch, (int, np.integer)):
            start = stop = int(profile_batch)
        elif isinstance(profile_batch, (tuple, list)) and len(profile_batch) == 2:
            start, stop = (int(p) for p in profile_batch)
        else:
            raise ValueError(message)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if start < 0 or stop < start or (start == 0 and stop != 0):
        raise ValueError(message)
    return start, stop


def _keras_model_summary_proto(model):
    # The TensorBoard graph plugin draws a "conceptual graph" from a model's JSON config stored
    # under the `graph_keras_model` plugin (the summary Keras writes as tag `keras`).
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.compat.proto.types_pb2 import DT_STRING

    metadata = SummaryMetadata()
    metadata.plugin_data.plugin_name = "graph_keras_model"
    metadata.plugin_data.content = b"1"
    tensor = TensorProto(
        dtype=DT_STRING,
        tensor_shape=TensorShapeProto(),
        string_val=[model.to_json().encode("utf-8")],
    )
    return Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])


def _weight_image(value):
    # Keras's layout for a weight drawn as an image: (images, height, width, channels).
    w = np.squeeze(value)
    if w.ndim == 1:
        w = w.reshape(1, w.shape[0], 1, 1)
    elif w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        w = w.reshape(1, w.shape[0], w.shape[1], 1)
    elif w.ndim == 3:
        w = np.transpose(w, (2, 0, 1))[..., None]
    if w.ndim == 4 and w.shape[-1] in (1, 3, 4):
        return w
    return None


@register_builtin("keras.callbacks")
class TensorBoard(Callback):
    """Write logs for TensorBoard: metric curves, weight histograms and images, the model graph.

    Run ``tensorboard --logdir=path_to_your_logs`` to look at them. Scalars go to
    ``log_dir/train`` and ``log_dir/validation`` with Keras's tags: ``epoch_<metric>`` per epoch,
    ``epoch_learning_rate``, ``batch_<metric>`` per batch (when ``update_freq`` is not
    ``"epoch"``), ``evaluation_<metric>_vs_iterations`` after each evaluation (indexed by the
    optimizer's iterations). Needs the ``tensorboard`` package (``pip install tensorboard``).

    Args:
        log_dir: Directory of the event files.
        histogram_freq: Every how many epochs to write histograms of the weights (0 disables).
        write_graph: Write the model's graphs for the Graphs dashboard: the conceptual graph
            (its JSON config, Keras's "keras" tag) when the callback is set up, and, after the
            first training batch, torch's op graph (a `torch.jit.trace` of a functional or
            sequential model on zeros shaped like its inputs) where Keras writes TF's.
        write_images: With ``histogram_freq``, also write the weights as images.
        write_steps_per_second: Log the training steps per second (per epoch, and per batch
            when ``update_freq`` is not ``"epoch"``).
        update_freq: ``"epoch"``, ``"batch"``, or an integer N: batch-level scalars are
            written every N batches.
        profile_batch: A batch (int) or range of batches (``(start, stop)`` or ``"start,stop"``)
            to profile with ``torch.profiler``; the Chrome trace is written under
            ``log_dir/train/plugins/profile/<run>/``. 0 disables profiling.
        embeddings_freq: Every how many epochs to save the embedding layers' weights (0
            disables). Writes ``projector_config.pbtxt`` and, for each `Embedding` layer, a
            TSV of its vectors the Projector reads.
        embeddings_metadata: A metadata file name for all embedding layers, or a dict from
            embedding layer name to metadata file name.

    Example:

    >>> tensorboard_callback = lamina.callbacks.TensorBoard(log_dir="./logs")
    >>> model.fit(x_train, y_train, epochs=2, callbacks=[tensorboard_callback])
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        self._writer_class = _summary_writer_class()
        if update_freq not in ("epoch", "batch") and not (
            isinstance(update_freq, (int, np.integer)) and not isinstance(update_freq, bool)
            and update_freq > 0
        ):
            raise ValueError(
                "`update_freq` must be 'epoch', 'batch' or a positive integer. "
                f"Received: update_freq={update_freq!r}"
            )
        for name, value in (("histogram_freq", histogram_freq), ("embeddings_freq", embeddings_freq)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(
                    f"`{name}` must be a non-negative integer. Received: {name}={value!r}"
                )
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.embeddings_freq = int(embeddings_freq)
        self.embeddings_metadata = embeddings_metadata
        self._start_batch, self._stop_batch = _parse_profile_batch(profile_batch)
        self._profiler = None
        self._should_write_op_graph = False
        self._global_train_batch = 0
        self._global_test_batch = 0
        self._batch_start_time = 0.0
        self._epoch_start_time = 0.0
        self._previous_epoch_iterations = 0
        self._writers = {}

    # -- writers ---------------------------------------------------------------------------

    def set_model(self, model):
        self._model = model
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._close_writers()
        self._should_write_op_graph = bool(self.write_graph)
        if self.write_graph:
            self._write_model_graph()
        if self.embeddings_freq:
            self._configure_embeddings()

    def _writer(self, which):
        if which not in self._writers:
            logdir = self._train_dir if which == "train" else self._val_dir
            self._writers[which] = self._writer_class(log_dir=logdir)
        return self._writers[which]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _scalar(self, which, tag, value, step):
        self._writer(which).add_scalar(tag, float(value), global_step=int(step))

    def _write_model_graph(self):
        # Keras writes the same summary for Functional and Sequential models only.
        if type(self.model).__name__ not in ("Functional", "Sequential"):
            return
        try:
            summary = _keras_model_summary_proto(self.model)
        except Exception as e:  # a model that fails to serialize must not stop training
            import warnings

            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {e}", stacklevel=2)
            return
        self._writer("train")._get_file_writer().add_summary(summary, 0)

    def _write_op_graph(self):
        # Torch's counterpart of the TF op graph Keras writes: a `torch.jit.trace` of the
        # model on zeros shaped like its inputs, shown by the Graphs dashboard.
        inputs = getattr(self.model, "inputs", None)
        if not inputs:
            return
        import warnings

        import torch

        examples = [
            torch.zeros([1 if d is None else d for d in t.shape], dtype=getattr(torch, str(t.dtype)))
            for t in inputs
        ]
        example = examples[0] if len(examples) == 1 else (examples,)
        was_training = self.model.training
        self.model.eval()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._writer("train").add_graph(self.model, example)
        except Exception as e:  # tracing is best effort: it must not stop training
            warnings.warn(f"TensorBoard: could not trace the model's op graph ({e}).", stacklevel=2)
        finally:
            self.model.train(was_training)

    def _batch_due(self, step):
        return self.update_freq != "epoch" and step % self.update_freq == 0

    # -- training hooks --------------------------------------------------------------------

    def _wants_batch_logs(self):
        # Batch logs cost a metric read per batch: ask for them only on batches that are written.
        return self._batch_due(self._global_train_batch)

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0

    def on_train_end(self, logs=None):
        if self._profiler is not None:
            self._stop_profiler()
        self._close_writers()

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "iterations"):
            step = int(np.asarray(optimizer.iterations))
            for name, value in (logs or {}).items():
                self._scalar("val", f"evaluation_{name}_vs_iterations", value, step)
        if "val" in self._writers:
            self._writers["val"].flush()

    def on_test_batch_begin(self, batch, logs=None):
        self._global_test_batch += 1

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()
        if self._start_batch and self._global_train_batch == self._start_batch:
            self._start_profiler()

    def on_train_batch_end(self, batch, logs=None):
        if self._should_write_op_graph:
            self._should_write_op_graph = False
            self._write_op_graph()
        step = self._global_train_batch
        if self._batch_due(step):
            if self.write_steps_per_second:
                elapsed = max(time.time() - self._batch_start_time, 1e-9)
                self._scalar("train", "batch_steps_per_second", 1.0 / elapsed, step)
            if logs and not isinstance(logs, DeferredLogs):
                for name, value in logs.items():
                    self._scalar("train", f"batch_{name}", value, step)
        if self._profiler is not None:
            self._profiler.step()
            if step >= self._stop_batch:
                self._stop_profiler()

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._previous_epoch_iterations = int(np.asarray(self.model.optimizer.iterations))
            self._epoch_start_time = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)
        for writer in self._writers.values():
            writer.flush()

    # -- epoch summaries -------------------------------------------------------------------

    def _collect_learning_rate(self, logs):
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if optimizer is None:
            return logs
        if hasattr(optimizer, "optimizers"):
            for opt in optimizer.optimizers:
                logs[f"learning_rate_{opt.name}"] = float(np.asarray(opt.learning_rate))
        elif hasattr(optimizer, "learning_rate"):
            logs["learning_rate"] = float(np.asarray(optimizer.learning_rate))
        return logs

    def _log_epoch_metrics(self, epoch, logs):
        if not logs:
            return
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        train_logs = self._collect_learning_rate(train_logs)
        if self.write_steps_per_second:
            iterations = int(np.asarray(self.model.optimizer.iterations))
            elapsed = max(time.time() - self._epoch_start_time, 1e-9)
            train_logs["steps_per_second"] = (iterations - self._previous_epoch_iterations) / elapsed
        for name, value in train_logs.items():
            self._scalar("train", f"epoch_{name}", value, epoch)
        for name, value in val_logs.items():
            self._scalar("val", f"epoch_{name}", value, epoch)

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight.path.replace(":", "_")
                value = np.asarray(weight.numpy(), dtype=np.float32)
                writer.add_histogram(f"{name}/histogram", value, global_step=epoch, bins="tensorflow")
                if self.write_images:
                    image = _weight_image(value)
                    if image is not None:
                        # Scaled to [0, 1] so the image shows the weights' pattern, not clipping.
                        low, high = float(image.min()), float(image.max())
                        image = (image - low) / (high - low) if high > low else image * 0.0
                        writer.add_images(
                            f"{name}/image", image, global_step=epoch, dataformats="NHWC"
                        )

    # -- embeddings ------------------------------------------------------------------------

    def _embedding_layers(self):
        return [layer for layer in self.model.layers if isinstance(layer, Embedding)]

    def _configure_embeddings(self):
        from tensorboard.plugins import projector

        metadata = self.embeddings_metadata
        if metadata is not None and not isinstance(metadata, (str, dict)):
            raise TypeError(
                "`embeddings_metadata` must be a file name (str) or a dict from Embedding layer "
                f"name to file name. Received: {type(metadata).__name__}"
            )
        remaining = dict(metadata) if isinstance(metadata, dict) else None
        config = projector.ProjectorConfig()
        for layer in self._embedding_layers():
            embedding = config.embeddings.add()
            embedding.tensor_name = f"{layer.name}/embeddings"
            # No TF checkpoint to point at: the projector reads the vectors from a TSV file.
            embedding.tensor_path = self._embedding_tsv_name(layer)
            if isinstance(metadata, str):
                embedding.metadata_path = metadata
            elif remaining and layer.name in remaining:
                embedding.metadata_path = remaining.pop(layer.name)
        if remaining:
            raise ValueError(
                "Unrecognized `Embedding` layer names passed to `lamina.callbacks.TensorBoard` "
                f"`embeddings_metadata` argument: {sorted(remaining)}"
            )
        from google.protobuf import text_format

        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, "projector_config.pbtxt"), "w") as f:
            f.write(text_format.MessageToString(config))

    @staticmethod
    def _embedding_tsv_name(layer):
        return f"{layer.name}_embeddings.tsv"

    def _log_embeddings(self, epoch):
        os.makedirs(self._train_dir, exist_ok=True)
        self.model.save_weights(
            os.path.join(self._train_dir, f"keras_embedding.ckpt-{epoch}.weights.h5")
        )
        for layer in self._embedding_layers():
            vectors = np.asarray(layer.embeddings.numpy())
            np.savetxt(
                os.path.join(self.log_dir, self._embedding_tsv_name(layer)), vectors, delimiter="\t"
            )

    # -- profiler --------------------------------------------------------------------------

    def _start_profiler(self):
        import torch.profiler

        import torch

        activities = [torch.profiler.ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        self._profiler = torch.profiler.profile(activities=activities, record_shapes=True)
        self._profiler.__enter__()

    def _stop_profiler(self):
        profiler, self._profiler = self._profiler, None
        profiler.__exit__(None, None, None)
        run = datetime.datetime.now().strftime("%Y_%m_%d_%H_%M_%S")
        out_dir = os.path.join(self._train_dir, "plugins", "profile", run)
        os.makedirs(out_dir, exist_ok=True)
        profiler.export_chrome_trace(
            os.path.join(out_dir, f"{socket.gethostname()}.pt.trace.json")
        )
