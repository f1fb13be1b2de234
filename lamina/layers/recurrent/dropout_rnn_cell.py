"""``DropoutRNNCell``: the dropout-mask bookkeeping shared by the recurrent cells.

Keras draws one dropout mask per call of the recurrent layer and reuses it at every time step
(variational dropout). A cell caches its masks on the first step of a call; the ``RNN`` layer
clears them when the call ends.
"""

import torch


class DropoutRNNCell:
    """Mixin for cells with ``dropout``, ``recurrent_dropout`` and a ``seed_generator``.

    A cell that sets ``dropout_mask_count`` gets that many independent masks (one per gate,
    Keras's ``implementation=1``) instead of a single one.
    """

    def _create_dropout_mask(self, step_input, rate):
        generator = self.seed_generator.generator(step_input.device)
        keep = 1.0 - rate

        def draw():
            mask = torch.empty(step_input.shape, dtype=step_input.dtype, device=step_input.device)
            return mask.bernoulli_(keep, generator=generator).div_(keep)

        count = getattr(self, "dropout_mask_count", None)
        if count is None:
            return draw()
        return [draw() for _ in range(count)]

    def get_dropout_mask(self, step_input):
        """The input dropout mask(s) of the current call, drawn on first use."""
        if getattr(self, "_dropout_mask", None) is None and self.dropout > 0:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_input):
        """The recurrent dropout mask(s) of the current call, drawn on first use."""
        if getattr(self, "_recurrent_dropout_mask", None) is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._create_dropout_mask(step_input, self.recurrent_dropout)
        return getattr(self, "_recurrent_dropout_mask", None)

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None
