"""Lamina: the Keras layers API on PyTorch."""
