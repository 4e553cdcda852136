"""A small time-conditioned convolutional U-Net for image-shaped points (C, H, W).

The shape of the U-Nets of DDPM / torchcfm's image runners, scaled down for 8x8 to 32x32 images:
residual blocks (GroupNorm, SiLU, 3x3 convolutions) whose features are shifted and scaled by the
time embedding (FiLM), ``depth`` halvings of the resolution with skip connections, and an output
convolution initialised at zero so that training starts from the zero velocity field.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tune_flow.models.time_embedding import SinusoidalTimeEmbedding


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(8 if channels % 8 == 0 else 1, channels)


class ResBlock(nn.Module):
    """x -> x + conv(silu(film(norm(conv(silu(norm(x))))))), the channel count changed by a 1x1
    convolution on the skip path when it differs."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.conv1 = _norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.film = nn.Linear(cond_dim, 2 * c_out)
        self.norm2, self.conv2 = _norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(cond)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    """v(x_t, t) for images: x_t (B, C, H, W), t (B,) -> (B, C, H, W).

    Args:
        shape: (C, H, W); H and W divisible by 2**depth.
        width: channels at full resolution (doubled at each halving, up to 4x).
        depth: number of halvings of the resolution (>= 1).
        dropout: inside each residual block. time_embed_dim: size of the sinusoidal embedding.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        width: int = 64,
        depth: int = 2,
        dropout: float = 0.0,
        time_embed_dim: int = 32,
    ) -> None:
        super().__init__()
        if len(shape) != 3:
            raise ValueError(f"unet needs image points (C, H, W), got shape {tuple(shape)}")
        channels, height, width_px = shape
        if depth < 1 or height % 2**depth or width_px % 2**depth:
            raise ValueError(
                f"unet with depth {depth} halves {height}x{width_px} images {depth} time(s): "
                f"height and width must be divisible by {2**depth}"
            )
        cond = 4 * time_embed_dim
        self.time_embedding = nn.Sequential(
            SinusoidalTimeEmbedding(time_embed_dim),
            nn.Linear(time_embed_dim, cond),
            nn.SiLU(),
            nn.Linear(cond, cond),
        )
        widths = [width * min(2**level, 4) for level in range(depth + 1)]
        self.input = nn.Conv2d(channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList(
            ResBlock(widths[i], widths[i + 1], cond, dropout) for i in range(depth)
        )
        self.middle = ResBlock(widths[-1], widths[-1], cond, dropout)
        self.up = nn.ModuleList(
            ResBlock(widths[i + 1] + widths[i + 1], widths[i], cond, dropout)
            for i in reversed(range(depth))
        )
        self.out_norm = _norm(widths[0])
        self.output = nn.Conv2d(widths[0], channels, 3, padding=1)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        cond = self.time_embedding(t)
        h = self.input(x_t)
        skips = []
        for block in self.down:
            h = block(h, cond)
            skips.append(h)
            h = F.avg_pool2d(h, 2)
        h = self.middle(h, cond)
        for block in self.up:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = block(torch.cat([h, skips.pop()], dim=1), cond)
        return self.output(F.silu(self.out_norm(h)))
