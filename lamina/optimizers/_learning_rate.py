"""An optimizer's learning rate: a variable (settable, also under Keras 2's name ``lr``) or a
schedule evaluated at the step counter, read as a tensor on the counter's device without a host
sync."""

import numpy as np

from lamina.backend import config
from lamina.backend.core import convert_to_tensor
from lamina.backend.variables import Variable
from lamina.optimizers.schedules import learning_rate_schedule


class LearningRateAPI:
    """``learning_rate`` / ``lr`` (mixed into ``Optimizer``)."""

    @property
    def learning_rate(self):
        """The current learning rate: the rate variable, or the schedule's value at `iterations`.

        Assign a float to change it (``optimizer.learning_rate = 0.01``), or a schedule to
        replace it.
        """
        return self._get_current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        previous = self._learning_rate
        if callable(learning_rate):
            self._learning_rate = learning_rate
            if isinstance(previous, Variable):
                self._variables = [v for v in self._variables if v is not previous]
            return
        if isinstance(previous, learning_rate_schedule.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. If "
                "you need the learning rate to be settable, you should instantiate the optimizer "
                "with a float `learning_rate` argument."
            )
        if isinstance(previous, Variable):
            previous.assign(learning_rate)
        else:
            self._learning_rate = self._make_variable(
                np.array(float(learning_rate), config.floatx()), "learning_rate"
            )

    @property
    def lr(self):
        """Keras 2's name of `learning_rate` (``K.set_value(model.optimizer.lr, 1e-4)``)."""
        return self.learning_rate

    @lr.setter
    def lr(self, learning_rate):
        self.learning_rate = learning_rate

    def _get_current_learning_rate(self):
        if isinstance(self._learning_rate, learning_rate_schedule.LearningRateSchedule):
            return self._learning_rate(self._iterations)
        if isinstance(self._learning_rate, Variable):
            return self._learning_rate
        return self._learning_rate()

    def _learning_rate_tensor(self):
        """The current rate as a 0-d tensor on the counter's device, without a host sync."""
        rate = self._get_current_learning_rate()
        if isinstance(rate, Variable):
            return rate.detach()
        return convert_to_tensor(rate, device=self._iterations.device)
