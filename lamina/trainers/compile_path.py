"""``jit_compile``: a step function (the train step's forward pass and loss; predict's and
evaluate's forward passes, see ``inference_path``) through ``torch.compile``.

Three things made the compiled step slower than eager execution, each fixed here:

* The layer call counts outermost calls in a per-thread counter (it tells which losses belong to
  the last call). Dynamo read that integer as a constant, so every step failed the guard on it and
  recompiled, until the recompile limit (8) sent the step back to eager execution for good: the
  first steps each paid a full compilation. The compiled step now always starts from the same
  counter value and the loop's counter is moved past it afterwards.
* ``fit`` gathers the trainable weights and the regularized layers once per epoch, after the epoch's
  first forward pass; the compiled code saw "not gathered yet" in each epoch's first step and
  "gathered" later: two graphs, and a guard switch every epoch. The gathering now happens before
  the compiled call.
* Every model shared one compile cache (it is kept on the code object of the step function), so
  a few compiled models in one process used up the recompile limit together. Each model now gets
  its own copy of the code object.

Where compiling still loses (small models on few CPU cores, where the fused kernels cannot make up
for the extra dispatch), the first steps after compilation time both paths and keep the faster
one, saying so once in the ``lamina`` log. The steps are timed on the wall clock, unless the
process got the CPU for less than 1/``_LOADED`` of the wall time (a machine shared with other
busy processes): then the wall times mostly measure the waits, and the CPU times of the process
decide. On this project's loaded 2-core CPU, the wall clock kept the Keras MNIST convnet's predict
eager (20.0 against 22.4 ms) where its CPU time was 11.3 ms compiled against 12.0 eager.
"""

import logging
import time
import types
import warnings

import torch

from lamina.backend.call_context import CONTEXT
from lamina.trainers.trainer_utils import StepCache

logger = logging.getLogger("lamina")

# The counter value every compiled step starts from: far above what the eager calls reach, so the
# losses recorded by a compiled step are never taken for those of an eager call, and >= 0 as the
# layer call requires of a counter.
_COMPILED_COUNTER = 1 << 62

# Steps of each path timed after compilation (interleaved); the fastest of each decides.
_TRIALS = 3

# Wall time over CPU time of the timed steps above which the machine counts as loaded.
_LOADED = 1.5


def _own_code(method):
    """``method`` re-bound on a copy of its code object: a compile cache of its own."""
    func = method.__func__
    copy = types.FunctionType(
        func.__code__.replace(), func.__globals__, func.__name__, func.__defaults__, func.__closure__
    )
    copy.__kwdefaults__ = func.__kwdefaults__
    return types.MethodType(copy, method.__self__)


class CompiledStep:
    """A step function of the model (``_forward_and_loss`` unless ``function`` says otherwise) run
    through ``torch.compile`` when that is faster, for ``jit_compile=True`` or ``"auto"``.

    Phases, one per call: the first call runs eagerly (it builds the model, the losses and the
    metrics); the second compiles; the next ``2 * trials`` calls alternate between the compiled and
    the eager function, and the time from each call to ``step_done`` (the default train step calls
    it after the optimizer) or else to the next call (a whole train step: forward, backward,
    optimizer) or, with ``per_call``, of the call itself is recorded for the path it took; then
    the faster path is kept. (On an accelerator these are the host's times: what waits for the
    device is only what the loop itself waits for.) If compiling fails, the step runs eagerly
    from then on, with a warning (logged under ``auto``).

    Args:
        model: The model (a ``Trainer``).
        trials: Steps of each path timed before choosing (0: always keep the compiled path;
            default ``_TRIALS``).
        function: The bound method to compile, called with ``(x, y, sample_weight)``; defaults
            to the model's ``_forward_and_loss``.
        what: What the function is, for the messages (``"train step"``).
        auto: Whether ``jit_compile="auto"`` asked for the compiling rather than the user's
            ``jit_compile=True``: a failed compile is then logged instead of warned about, and
            keeping eager execution is logged at the INFO level, not as a warning (nothing the
            user asked for is lost).
        per_call: Time each call by itself, not up to the next call: for a forward pass whose
            result is complete when the call returns (inference on the CPU), so that what runs
            between calls (the rest of a loop, a whole epoch between two evaluations) is not
            counted.

    Attributes:
        path: ``None`` while undecided, then ``"compiled"`` or ``"eager"``.
        failed: Whether compiling failed (the step then runs eagerly).
    """

    def __init__(self, model, trials=None, function=None, what="train step", auto=False, per_call=False):
        self._model = model
        self._auto = auto
        self._setting = '`jit_compile="auto"`' if auto else "`jit_compile=True`"
        self._function = function if function is not None else model._forward_and_loss
        self._eager = self._function
        self._what = what
        self._compiled = None
        self._layers = None
        self._trials = _TRIALS if trials is None else trials
        self._per_call = per_call
        self._times = {"compiled": [], "eager": []}
        self._pending = None  # (path, wall start, CPU start) of a step not yet ended (step_done)
        self.path = None
        self.failed = False

    def __call__(self, x, y, sample_weight):
        self.step_done()  # a step whose loop did not say where it ended ends here
        if self.path == "eager":
            return self._eager(x, y, sample_weight)
        if self._compiled is None:
            # Built by the eager call first: building mutates Python state the graph would guard.
            self._compiled = torch.compile(_own_code(self._function), dynamic=False)
            return self._eager(x, y, sample_weight)
        if self._layers is None:
            self._layers = self._model._flatten_layers(include_self=True)
            try:
                return self._run_compiled(x, y, sample_weight)
            except Exception as e:  # torch.compile raises many types; the eager run re-raises user errors
                self.path, self.failed = "eager", True
                message = (
                    f"{self._setting}: torch.compile failed ({type(e).__name__}: {e}); running "
                    f"the {self._what} eagerly instead."
                )
                if self._auto:
                    logger.info(message)
                else:
                    warnings.warn(message, stacklevel=3)
                return self._eager(x, y, sample_weight)
        if self.path is None and self._trials > 0:
            taken = "compiled" if len(self._times["compiled"]) <= len(self._times["eager"]) else "eager"
            run = self._eager if taken == "eager" else self._run_compiled
            started = (taken, time.perf_counter(), time.process_time())
            outputs = run(x, y, sample_weight)
            if self._per_call:
                self._record(*started)
            else:
                self._pending = started
            return outputs
        return self._run_compiled(x, y, sample_weight)

    def step_done(self):
        """End the timed trial of the current train step (forward, backward, optimizer) here,
        before what the loop does next: the callbacks, or an epoch's end and its validation."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._record(*pending)

    def _record(self, taken, start, cpu_start):
        self._times[taken].append((time.perf_counter() - start, time.process_time() - cpu_start))
        if len(self._times["eager"]) >= self._trials:
            self._decide()

    def __reduce__(self):
        # The compiled function is bound to this step's model (and cannot be pickled): a copied or
        # unpickled model's step starts over, bound to that model.
        return CompiledStep, (
            self._model, self._trials, self._function, self._what, self._auto, self._per_call
        )

    def _run_compiled(self, x, y, sample_weight):
        model_state = self._model.__dict__
        if model_state.get("_step_cache", 0) is None:
            model_state["_step_cache"] = StepCache(self._model)
        for layer in self._layers:
            # Read by the compiled code (which losses are current): a fixed value, no guard failure.
            if layer._loss_epoch != -1:
                layer.__dict__["_loss_epoch"] = -1
        training, depth, counter = CONTEXT.state
        CONTEXT.state = (training, depth, _COMPILED_COUNTER)
        try:
            return self._compiled(x, y, sample_weight)
        finally:
            training, depth, _ = CONTEXT.state
            CONTEXT.state = (training, depth, counter + 1)

    def _decide(self):
        samples = self._times["compiled"] + self._times["eager"]
        loaded = sum(w for w, _ in samples) > _LOADED * sum(c for _, c in samples)
        clock = 1 if loaded else 0
        compiled = min(t[clock] for t in self._times["compiled"])
        eager = min(t[clock] for t in self._times["eager"])
        how = "CPU time, the machine being busy" if loaded else "wall time"
        kept = "compiled" if compiled <= eager else "eager"
        self.path = kept
        logger.log(
            logging.WARNING if kept == "eager" and not self._auto else logging.INFO,
            "%s: the compiled %s of model '%s' took %.1f ms, eager execution %.1f ms (%s, fastest "
            "of %d steps each); %s.",
            self._setting, self._what, self._model.name, compiled * 1e3, eager * 1e3, how,
            self._trials,
            "keeping the compiled one" if kept == "compiled"
            else f"{'training' if self._what == 'train step' else 'it'} continues eagerly",
        )
