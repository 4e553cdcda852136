"""A probability path: tune_flow calls ``CosinePath(**flow_args)`` (and passes ``sigma``)."""

import math

import torch

from tune_flow.training.flows import ICFM, PathSample, expand_time


class CosinePath(ICFM):
    """The trigonometric interpolant x_t = cos(pi t / 2) x_0 + sin(pi t / 2) x_1, whose velocity
    is pi / 2 (cos(pi t / 2) x_1 - sin(pi t / 2) x_0); OT-free, like ICFM it pairs as drawn."""

    def __init__(self, sigma: float = 0.0, speed: float = 1.0) -> None:
        super().__init__(sigma)
        self.speed = speed  # scales the angle: 1.0 goes from x_0 (t=0) to x_1 (t=1)

    def sample_path(self, x_0, x_1, t, eps=None) -> PathSample:
        x_0, x_1 = self.pair(x_0, x_1)
        angle = expand_time(t, x_0) * (math.pi / 2) * self.speed
        x_t = torch.cos(angle) * x_0 + torch.sin(angle) * x_1
        if self.sigma > 0:
            x_t = x_t + self.sigma * eps
        dx_t = (math.pi / 2) * self.speed * (torch.cos(angle) * x_1 - torch.sin(angle) * x_0)
        return PathSample(x_0=x_0, x_1=x_1, t=t, x_t=x_t, dx_t=dx_t)
