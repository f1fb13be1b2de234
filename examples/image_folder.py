"""Train on a folder of images with ``image_dataset_from_directory``, as Keras's examples do.

The bundled UCI digits (``examples/data/digits.npz``) are written out as PNG files, one subfolder
per class (``0/`` ... ``9/``), in a temporary folder; the rest is the usual Keras program: a
seeded training / validation split of the folder, a small convnet, ``fit`` on the datasets.
Needs Pillow (``pip install lamina[image]``).
"""

import os
import tempfile

import numpy as np
from PIL import Image

import lamina as keras
from lamina import layers

HERE = os.path.dirname(os.path.abspath(__file__))


def write_image_folder(root):
    with np.load(os.path.join(HERE, "data", "digits.npz")) as data:
        images = (data["images"] * (255.0 / 16.0)).round().astype("uint8")
        labels = data["labels"]
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = os.path.join(root, str(int(label)))
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(image, "L").save(os.path.join(folder, f"{i:04d}.png"))


def main():
    with tempfile.TemporaryDirectory() as root:
        write_image_folder(root)
        train_ds, val_ds = keras.utils.image_dataset_from_directory(
            root, validation_split=0.2, subset="both", seed=1337, image_size=(8, 8),
            color_mode="grayscale", batch_size=32,
        )
        print("classes:", train_ds.class_names)
        model = keras.Sequential([
            keras.Input((8, 8, 1)),
            layers.Rescaling(1.0 / 255),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(train_ds, validation_data=val_ds, epochs=8, verbose=2)
        _, accuracy = model.evaluate(val_ds, verbose=0)
        print(f"validation accuracy: {accuracy:.3f}")
        assert accuracy > 0.85, accuracy


if __name__ == "__main__":
    main()
