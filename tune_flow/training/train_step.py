"""The training step after the path is drawn, as one unit: :class:`EagerStep` by default, or
compiled with ``TrainingConfig.compile_step`` (:func:`build_train_step` picks).

On a GPU a small model's step is a few dozen tiny kernels, so launches, not FLOPs, bound it
(trainer/floor 1.23-1.30x for the default MLP on an H200, benchmarks/RESULTS.md section 1). Everything
after the path is drawn (forward, MSE, backward, gradient clipping, AdamW, the EMA update) runs as
one unit:

- on CUDA, :class:`CudaGraphStep` captures it in one CUDA graph by hand (PyTorch's "whole-network
  capture" recipe) and replays it at every step. ``torch.compile(mode="reduce-overhead")`` was
  tried first and measured on an H200: inductor refuses CUDA graphs for code that mutates its
  inputs ("skipping cudagraphs due to mutated inputs"), and a training step mutates every weight,
  moment and EMA tensor, so it ran un-graphed (1.31x the floor for the small MLP, slower than
  eager), and Dynamo in several trials of a search crashed workers. A hand capture replays the
  very kernels eager mode launches, so it trains like eager mode.
- on the CPU, :class:`CompiledStep` ``torch.compile``\\ s it (inductor's default mode fuses the
  element-wise work; nothing is launch-bound there). This is the mode the CPU tests can check.

The random draws stay eager, outside: they use the trainer's explicit ``torch.Generator``, which
neither compiled code nor a graph replay advances, so the same seed draws the same path either way.
Every per-step scalar the unit reads is a 0-d tensor on the device updated in place (the learning
rate, which ``LambdaLR`` fills, and the EMA weight): a Python float would be baked into the graph.
"""

from __future__ import annotations

import torch
from torch import nn

from tune_flow.errors import UserInputError
from tune_flow.training.ema import EMAModel

#: Eager steps on a side stream before the capture (PyTorch's recipe: lazy initialisation such as
#: the optimizer's state and cuBLAS workspaces must not happen inside a capture). They are real
#: training steps on the real batches, so they change nothing in the run.
CUDA_GRAPH_WARMUP_STEPS = 3


def _train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: EMAModel,
    grad_clip: float,
    ema_weight: float | torch.Tensor,
    x_t: torch.Tensor,
    t: torch.Tensor,
    dx_t: torch.Tensor,
) -> torch.Tensor:
    """One optimizer step and EMA update on path points ``x_t`` (B, D) at times ``t`` (B,) with
    targets ``dx_t`` (B, D); the gradients must be ``None`` or zero. Returns the loss (0-d)."""
    loss = nn.functional.mse_loss(model(x_t, t), dx_t)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), grad_clip, foreach=True)
    optimizer.step()
    ema.lerp_towards(model, ema_weight)
    return loss.detach()


class EagerStep:
    """``step(x_t, t, dx_t) -> loss`` (0-d, detached): :func:`_train_step` run eagerly (the
    default, ``compile_step`` false)."""

    def __init__(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, ema: EMAModel, grad_clip: float
    ) -> None:
        self.model, self.optimizer, self.ema, self.grad_clip = model, optimizer, ema, grad_clip

    def prepare_optimizer(self) -> None:
        """Float learning rates, not capturable (after ``Optimizer.load_state_dict``: a
        checkpoint of a compile_step run holds tensor learning rates)."""
        for group in self.optimizer.param_groups:
            group["lr"], group["capturable"] = float(group["lr"]), False

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor, dx_t: torch.Tensor) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        loss = _train_step(
            self.model, self.optimizer, self.ema, self.grad_clip,
            1.0 - self.ema.current_decay(), x_t, t, dx_t,
        )  # fmt: skip
        self.ema.num_updates += 1
        return loss


class CompiledStep:
    """``step(x_t, t, dx_t) -> loss`` (0-d, detached): :func:`_train_step`, ``torch.compile``\\ d
    with inductor's default mode (the CPU's compile_step)."""

    def __init__(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, ema: EMAModel, grad_clip: float
    ) -> None:
        self.model, self.optimizer, self.ema, self.grad_clip = model, optimizer, ema, grad_clip
        # Dynamo guards on the optimizer object: each new trainer in a process (trials on a
        # reused actor) would recompile and, past Dynamo's recompile limit (8), silently run
        # eager. One trainer trains at a time per process, so start from a clean cache.
        torch._dynamo.reset()
        self.ema_weight = torch.zeros(())
        self.prepare_optimizer()
        self._compiled = torch.compile(self._step, mode="default")

    def prepare_optimizer(self) -> None:
        """Tensor learning rates (again after ``Optimizer.load_state_dict``, which puts back
        whatever was saved)."""
        tensor_learning_rates(self.optimizer, torch.device("cpu"))

    def _step(self, x_t: torch.Tensor, t: torch.Tensor, dx_t: torch.Tensor) -> torch.Tensor:
        return _train_step(
            self.model, self.optimizer, self.ema, self.grad_clip, self.ema_weight, x_t, t, dx_t
        )

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor, dx_t: torch.Tensor) -> torch.Tensor:
        # Outside the compiled code: torch.compile does not trace Optimizer.zero_grad.
        self.optimizer.zero_grad(set_to_none=True)
        self.ema_weight.fill_(1.0 - self.ema.current_decay())
        loss = self._compiled(x_t, t, dx_t)
        self.ema.num_updates += 1
        return loss


class CudaGraphStep:
    """``step(x_t, t, dx_t) -> loss`` (0-d, detached): :func:`_train_step` captured in one CUDA
    graph after :data:`CUDA_GRAPH_WARMUP_STEPS` eager steps, then replayed. Every step must have
    the same shapes (the trainer's batches all have ``batch_size`` rows); another is refused."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        ema: EMAModel,
        grad_clip: float,
        device: torch.device,
    ) -> None:
        self.model, self.optimizer, self.ema, self.grad_clip = model, optimizer, ema, grad_clip
        self.device = device
        self.ema_weight = torch.zeros((), device=device)
        # Both streams on the trainer's device: torch.cuda.graph's default capture stream is
        # made on the *current* device, which for "cuda:1" is not the device the step runs on.
        self._side_stream = torch.cuda.Stream(device)
        self._capture_stream = torch.cuda.Stream(device)
        self.prepare_optimizer()

    def prepare_optimizer(self) -> None:
        """Tensor learning rates, on the device (again after ``Optimizer.load_state_dict``,
        which puts back whatever was saved). Loading replaces the optimizer's state tensors,
        which a graph captured earlier would go on updating, so the next step captures afresh."""
        tensor_learning_rates(self.optimizer, self.device)
        for group in self.optimizer.param_groups:
            # Set for the capture only (see _capture): eager steps with it set warn.
            group["capturable"] = False
        self._graph: torch.cuda.CUDAGraph | None = None
        self._static: tuple[torch.Tensor, ...] = ()
        self._static_loss: torch.Tensor | None = None  # releases the old graph's pool
        self._warmup_left = CUDA_GRAPH_WARMUP_STEPS

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor, dx_t: torch.Tensor) -> torch.Tensor:
        with torch.cuda.device(self.device):  # replay launches on the current device's stream
            self.ema_weight.fill_(1.0 - self.ema.current_decay())
            if self._graph is None and self._warmup_left > 0:
                self._warmup_left -= 1
                loss = self._warm_up(x_t, t, dx_t)
            else:
                if self._graph is None:
                    self._capture(x_t, t, dx_t)
                for static, value in zip(self._static, (x_t, t, dx_t), strict=True):
                    if value.shape != static.shape:  # copy_ would broadcast it silently
                        raise ValueError(
                            f"a CUDA-graph step takes the shapes it was captured with: got "
                            f"{tuple(value.shape)}, captured {tuple(static.shape)}"
                        )
                    static.copy_(value)
                self._graph.replay()  # type: ignore[union-attr]
                # The graph writes its loss into the same memory at every replay: hand out a copy.
                loss = self._static_loss.clone()  # type: ignore[union-attr]
        self.ema.num_updates += 1
        return loss

    def _warm_up(self, x_t: torch.Tensor, t: torch.Tensor, dx_t: torch.Tensor) -> torch.Tensor:
        """One eager step on the side stream (PyTorch's recipe before a capture)."""
        side, main = self._side_stream, torch.cuda.current_stream(self.device)
        side.wait_stream(main)
        with torch.cuda.stream(side):
            self.optimizer.zero_grad(set_to_none=True)
            loss = _train_step(
                self.model, self.optimizer, self.ema, self.grad_clip, self.ema_weight, x_t, t, dx_t
            )
        main.wait_stream(side)
        return loss

    def _capture(self, x_t: torch.Tensor, t: torch.Tensor, dx_t: torch.Tensor) -> None:
        """Record one step on static input buffers (recording runs nothing: the caller replays)."""
        self._static = (torch.empty_like(x_t), torch.empty_like(t), torch.empty_like(dx_t))
        # Gradients None before the capture, so backward allocates them in the graph's private
        # pool and every replay writes (not accumulates) them in place.
        self.optimizer.zero_grad(set_to_none=True)
        for group in self.optimizer.param_groups:
            # Fused AdamW keeps its step counts on the device either way; the flag only lets
            # Optimizer.step run under capture (its health check). Restored after: a
            # checkpoint then says False, which every way of loading it expects.
            group["capturable"] = True
        graph = torch.cuda.CUDAGraph()
        try:
            # thread_local: Ray's threads in a trial process may use CUDA while this one captures.
            with torch.cuda.graph(
                graph, stream=self._capture_stream, capture_error_mode="thread_local"
            ):
                self._static_loss = _train_step(
                    self.model, self.optimizer, self.ema, self.grad_clip, self.ema_weight,
                    *self._static,
                )  # fmt: skip
        finally:
            for group in self.optimizer.param_groups:
                group["capturable"] = False
        self._graph = graph


TrainStep = EagerStep | CompiledStep | CudaGraphStep


def build_train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: EMAModel,
    grad_clip: float,
    device: torch.device,
    compile_step: bool = False,
) -> TrainStep:
    """The training step for ``device``: eager unless ``compile_step``; compiled, a captured
    CUDA graph on CUDA and ``torch.compile`` on the CPU; other devices are refused (fused AdamW,
    which takes tensor learning rates, runs on the CPU and CUDA only)."""
    if not compile_step:
        return EagerStep(model, optimizer, ema, grad_clip)
    if device.type == "cuda":
        return CudaGraphStep(model, optimizer, ema, grad_clip, device)
    if device.type == "cpu":
        return CompiledStep(model, optimizer, ema, grad_clip)
    raise UserInputError(
        f"The value of `compile_step` is true, but the device is {device.type}; "
        "compile_step needs cpu or cuda."
    )


def tensor_learning_rates(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Make every param group's ``lr`` a 0-d tensor on ``device``."""
    for group in optimizer.param_groups:
        group["lr"] = torch.tensor(float(group["lr"]), device=device)
