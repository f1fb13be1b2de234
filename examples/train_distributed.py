"""Data parallel training of the digits network on several processes.

Run on two CPU processes with::

    torchrun --nproc_per_node=2 examples/train_distributed.py

Each process reads the whole data set and trains on its half of every batch of 64 samples (the
global batch); the gradients are averaged across processes before every step, so all processes
hold the same model. Only process 0 prints. On GPUs (NCCL), ``--nproc_per_node`` is the GPU count.
Run without ``torchrun``, the script trains in one process.
"""

import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lamina as keras  # noqa: E402
from lamina import distribution  # noqa: E402
from train_digits import build_model, load_digits  # noqa: E402


def main():
    if "WORLD_SIZE" in os.environ:  # launched by torchrun
        distribution.initialize()
    distribution.set_distribution(distribution.DataParallel())
    rank = distribution.distribution().data_shard_id

    # The same seed everywhere keeps the shuffling reproducible; process 0's initial weights are
    # sent to the others when training starts.
    keras.utils.set_random_seed(1)
    (x_train, y_train), (x_test, y_test) = load_digits()
    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=64, epochs=15, validation_split=0.1, verbose=2)
    elapsed = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=64, verbose=0)
    predictions = model.predict(x_test, batch_size=64, verbose=0)  # all of them, on every process
    predicted_accuracy = float(np.mean(predictions.argmax(axis=-1) == y_test))
    if rank == 0:
        print(f"{distribution.list_devices()}: trained in {elapsed:.1f} s; test accuracy "
              f"{accuracy:.4f} (loss {loss:.4f}), from predict {predicted_accuracy:.4f}")
    if accuracy < 0.95 or abs(predicted_accuracy - accuracy) > 1e-6:
        raise SystemExit("Distributed demo failed: accuracy below 95% or predict disagrees.")
    if torch.distributed.is_initialized():
        torch.distributed.barrier()  # nobody leaves while a peer still communicates
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
