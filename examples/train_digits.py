"""Train a small network on the bundled UCI handwritten digits, save it, reload it, check it.

The data (1797 8x8 grey-level images, classes 0-9) ships in ``examples/data/digits.npz``; it is the
UCI "Optical Recognition of Handwritten Digits" test set (Alpaydin & Kaynak, CC BY 4.0).

Run with ``make demo``.
"""

import os
import tempfile

import numpy as np

import lamina as keras
from lamina import layers

HERE = os.path.dirname(os.path.abspath(__file__))


def load_digits():
    with np.load(os.path.join(HERE, "data", "digits.npz")) as data:
        images = data["images"].astype("float32") / 16.0
        labels = data["labels"].astype("int64")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(labels))
    images, labels = images[order], labels[order]
    split = int(0.8 * len(labels))
    return (images[:split], labels[:split]), (images[split:], labels[split:])


def build_model():
    return keras.Sequential(
        [
            keras.Input((8, 8)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="digits_mlp",
    )


def main():
    keras.utils.set_random_seed(1)
    (x_train, y_train), (x_test, y_test) = load_digits()
    model = build_model()
    model.summary()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=20, validation_split=0.1)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test accuracy: {accuracy:.4f} (loss {loss:.4f})")

    path = os.path.join(tempfile.mkdtemp(), "digits.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    same = np.allclose(model.predict(x_test, verbose=0), reloaded.predict(x_test, verbose=0), atol=1e-6)
    print(f"Saved to {path}; reloaded model predicts the same: {same}")
    if accuracy < 0.95 or not same:
        raise SystemExit("Demo failed: accuracy below 95% or reloaded predictions differ.")


if __name__ == "__main__":
    main()
