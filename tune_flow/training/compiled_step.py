"""The optimizer step, ``torch.compile``d (``TrainingConfig.compile_step``).

On a GPU a small model's step is a few dozen tiny kernels, so launches, not FLOPs, bound it
(trainer/floor 1.27-1.30x for the default MLP on an H200, benchmarks/RESULTS.md section 1).
Compiling everything after the path is drawn (forward, MSE, backward, gradient clipping, AdamW,
the EMA update) with ``mode="reduce-overhead"`` replays it as CUDA graphs: a few graphs, as
Dynamo splits the function at ``loss.backward()`` and inside the optimizer (at most 8 on the
CPU, tested), each replayed whole. The random draws stay
eager, outside: they use the trainer's explicit ``torch.Generator``, which compiled code does not
take, so the same seed draws the same path either way.

Every per-step scalar the compiled code reads is a 0-d tensor updated in place (the learning
rate, which ``LambdaLR`` fills, and the EMA weight): as Python floats they would be baked into
the graph and recompile it at every new value.
"""

from __future__ import annotations

import torch
from torch import nn

from tune_flow.errors import UserInputError
from tune_flow.training.ema import EMAModel


class CompiledStep:
    """``step(x_t, t, dx_t) -> loss`` (0-d, detached): one optimizer step of ``model`` on the
    path points ``x_t`` (B, D) at times ``t`` (B,) with targets ``dx_t`` (B, D), then the EMA."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        ema: EMAModel,
        grad_clip: float,
        device: torch.device,
    ) -> None:
        if device.type not in ("cpu", "cuda"):
            # AdamW is fused (tensor learning rates allowed) on the CPU and CUDA only.
            raise UserInputError(
                f"The value of `compile_step` is true, but the device is {device.type}; "
                "compile_step needs cpu or cuda."
            )
        self.model, self.optimizer, self.ema, self.grad_clip = model, optimizer, ema, grad_clip
        self.device = device
        # Dynamo guards on the optimizer object: each new trainer in a process (trials on a
        # reused actor) would recompile and, past Dynamo's recompile limit (8), silently run
        # eager. One trainer trains at a time per process, so start from a clean cache.
        torch._dynamo.reset()
        tensor_learning_rates(optimizer, device)
        self.ema_weight = torch.zeros((), device=device)
        # CUDA graphs need CUDA; elsewhere the default mode still fuses the element-wise work.
        mode = "reduce-overhead" if device.type == "cuda" else "default"
        self._compiled = torch.compile(self._step, mode=mode)

    def _step(self, x_t: torch.Tensor, t: torch.Tensor, dx_t: torch.Tensor) -> torch.Tensor:
        loss = nn.functional.mse_loss(self.model(x_t, t), dx_t)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip, foreach=True)
        self.optimizer.step()
        self.ema.lerp_towards(self.model, self.ema_weight)
        return loss.detach()

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor, dx_t: torch.Tensor) -> torch.Tensor:
        # Outside the compiled code: torch.compile does not trace Optimizer.zero_grad.
        self.optimizer.zero_grad(set_to_none=True)
        self.ema_weight.fill_(1.0 - self.ema.current_decay())
        loss = self._compiled(x_t, t, dx_t)
        self.ema.num_updates += 1
        # A CUDA graph reuses its output buffer at the next replay: hand out a copy.
        return loss.clone()


def tensor_learning_rates(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Make every param group's ``lr`` a 0-d tensor on ``device`` (again after a
    ``load_state_dict``, which puts back whatever type was saved)."""
    for group in optimizer.param_groups:
        group["lr"] = torch.tensor(float(group["lr"]), device=device)
