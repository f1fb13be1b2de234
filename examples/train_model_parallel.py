"""Model parallel training of a small transformer classifier on several processes.

Run on four CPU processes with::

    torchrun --nproc_per_node=4 examples/train_model_parallel.py

The processes form a 2 x 2 mesh, ``batch`` by ``model`` (with 2 processes: 1 x 2). A
``LayoutMap`` splits the embedding table, the attention projections, the feed-forward kernels and
the classifier along the ``model`` axis, so each process stores half of each; the batch is split
along the ``batch`` axis. The model is made with the distribution set, so those variables are
created as their shards (never whole on one process). The task: classify a sequence of tokens by which of four marker tokens
occurs most often in it. After training, the script writes a sharded checkpoint (one file per
process), reloads it, and writes a whole ``.keras`` file from process 0.

Across machines, run the same command on each with ``--nnodes=M --node_rank=I
--rdzv_backend=c10d --rdzv_endpoint=HOST:29500`` (HOST: the first machine's address). On GPUs
(NCCL), ``--nproc_per_node`` is the GPU count. Run without ``torchrun``, it trains in one process.
"""

import os
import tempfile
import time

import numpy as np
import torch

import lamina as keras
from lamina import distribution, layers

SEQ, VOCAB, WIDTH, CLASSES = 16, 64, 32, 4


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(CLASSES, VOCAB, size=(n, SEQ))
    y = rng.integers(0, CLASSES, size=(n,))
    for i in range(n):  # the label's marker token appears 4 times, the others at most twice
        counts = rng.integers(0, 3, size=CLASSES)
        counts[y[i]] = 4
        positions = rng.permutation(SEQ)[: counts.sum()]
        x[i, positions] = np.repeat(np.arange(CLASSES), counts)
    return x.astype("int32"), y


def build_model():
    inputs = keras.Input((SEQ,), dtype="int32")
    x = layers.Embedding(VOCAB, WIDTH)(inputs)
    x = layers.LayerNormalization()(x + layers.MultiHeadAttention(num_heads=4, key_dim=8)(x, x))
    h = layers.EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d",
                           activation="relu", name="ffn_in")(x)
    x = layers.LayerNormalization()(x + layers.EinsumDense("abd,dc->abc", output_shape=(None, WIDTH),
                                                           name="ffn_out")(h))
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, layers.Dense(CLASSES, activation="softmax", name="head")(x))


def layout_map(mesh):
    layouts = distribution.LayoutMap(mesh)
    layouts["embedding/embeddings"] = (None, "model")
    layouts["multi_head_attention/(query|key|value)/kernel"] = (None, "model", None)
    layouts["multi_head_attention/(query|key|value)/bias"] = ("model", None)
    layouts["multi_head_attention/attention_output/kernel"] = ("model", None, None)
    layouts["ffn_in/kernel"] = (None, "model")
    layouts["ffn_in/bias"] = ("model",)
    layouts["ffn_out/kernel"] = ("model", None)
    layouts["head/kernel"] = (None, "model")
    return layouts


def main():
    if "WORLD_SIZE" in os.environ:  # launched by torchrun
        distribution.initialize()
    world = distribution.get_device_count()
    model_axis = 2 if world % 2 == 0 else 1
    mesh = distribution.DeviceMesh((world // model_axis, model_axis), ["batch", "model"])
    distribution.set_distribution(
        distribution.ModelParallel(layout_map=layout_map(mesh), batch_dim_name="batch"))
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0

    keras.utils.set_random_seed(1)
    x_train, y_train = make_data(2048, seed=0)
    x_test, y_test = make_data(512, seed=1)
    # Made while the distribution is set: each variable the layout map names is created as this
    # process's shard, its values the slice of what one process would have drawn.
    model = build_model()
    created = sum(int(np.prod(v.shape)) for v in model.weights)
    whole = model.count_params()  # whole shapes, counted without gathering any weight
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=64, epochs=3, validation_split=0.1, verbose=2)
    elapsed = time.perf_counter() - start
    # Between steps each variable holds this process's shard.
    stored = sum(int(np.prod(v.shape)) for v in model.weights)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=64, verbose=0)

    # A sharded checkpoint, written by every process, then read back.
    folder = os.environ.get("CHECKPOINT_DIR") or tempfile.gettempdir()
    path = os.path.join(folder, f"model_parallel_{world}.weights.dcp")
    model.save_weights(path)
    predictions = model.predict(x_test, batch_size=64, verbose=0)
    model.load_weights(path)
    reloaded = model.predict(x_test, batch_size=64, verbose=0)
    model.save(os.path.join(folder, f"model_parallel_{world}.keras"))  # whole, by process 0
    if rank == 0:
        print(f"{world} processes, mesh {mesh.shape}: trained in {elapsed:.1f} s; this process "
              f"created {created} and stores {stored} of the model's {whole} weights; test "
              f"accuracy {accuracy:.4f} "
              f"(loss {loss:.4f}); checkpoint at {path}")
    if accuracy < 0.9 or not np.array_equal(predictions, reloaded):
        raise SystemExit("Model parallel demo failed: accuracy below 90% or the reload differs.")
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
