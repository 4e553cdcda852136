"""Frechet distance of 8x8 digit images in the feature space of a small digit classifier.

Pixel W2 on 64-d images rewards blurry averages and punishes a stroke moved by one pixel; image
models are judged instead by a Frechet distance in the features of a classifier (FID, with
Inception features, for natural images). Inception knows nothing of 8x8 digits, so this one uses
a small CNN trained once on the digits training split (the split every default digits run uses:
``val_size`` = ``test_size`` = 0.1, ``data_seed`` 0) and cached. It is named for what it is,
``frechet_digits``: the Frechet distance between Gaussians fitted to the classifier's
:data:`FEATURES`-d penultimate features, not a number comparable to any published FID.

The cache is ``$TUNE_FLOW_CACHE`` or ``~/.cache/tune_flow``; the classifier trains in ~10 s on
one CPU core and is written atomically (several Ray workers may race to create it).
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

FEATURES = 32  # penultimate width: a 180-image Frechet estimate needs few dimensions
CLASSIFIER_VERSION = 1
PIXEL_MAX = 16.0  # scikit-learn's digits hold 0..16
_loaded: nn.Module | None = None


class DigitClassifier(nn.Module):
    """(B, 1, 8, 8) images in 0..16 -> 10 logits; :meth:`features` gives the (B, 32) layer
    before them."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 4 * 4, FEATURES), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(FEATURES, 10)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images / PIXEL_MAX)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def cache_dir() -> Path:
    return Path(os.environ.get("TUNE_FLOW_CACHE", Path.home() / ".cache" / "tune_flow"))


def classifier() -> nn.Module:
    """The cached classifier (trained and cached on first use), in eval mode."""
    global _loaded
    if _loaded is None:
        path = cache_dir() / f"digits_classifier_v{CLASSIFIER_VERSION}.pt"
        model = DigitClassifier()
        if path.is_file():
            model.load_state_dict(torch.load(path, weights_only=True)["model"])
        else:
            accuracy = _train(model)
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
                torch.save({"model": model.state_dict(), "test_accuracy": accuracy}, handle)
            os.replace(handle.name, path)
        _loaded = model.eval()
    return _loaded


def _train(model: DigitClassifier, epochs: int = 40) -> float:
    """Train on the digits training split; return the accuracy on its test split."""
    from sklearn.datasets import load_digits

    from tune_flow.data.splits import split_indices

    digits = load_digits()
    images = torch.from_numpy(digits.images[:, None].astype(np.float32))
    labels = torch.from_numpy(digits.target)
    split = split_indices(len(images), 0.1, 0.1, None, 0)
    train = torch.as_tensor(split.train)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model.__init__()  # seeded initialisation
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    with torch.enable_grad():  # the first call may come from inside frechet_digits' no_grad
        _fit(model, optimizer, images, labels, train, gen, epochs)
    test = torch.as_tensor(split.test)
    with torch.no_grad():
        return float((model(images[test]).argmax(1) == labels[test]).float().mean())


def _fit(model, optimizer, images, labels, train, gen, epochs):  # type: ignore[no-untyped-def]
    for _ in range(epochs):
        order = train[torch.randperm(len(train), generator=gen)]
        for i in range(0, len(order), 64):
            batch = order[i : i + 64]
            loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between Gaussians fitted to feature
    sets a (n, F) and b (m, F) (float64; scipy's sqrtm, its imaginary round-off dropped)."""
    from scipy import linalg

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # dead ReLU features make a covariance singular: still fine
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b)
    trace = np.trace(cov_a + cov_b - 2 * np.real(root))
    return float(np.sum((mu_a - mu_b) ** 2) + max(trace, 0.0))


@torch.no_grad()
def frechet_digits(generated: torch.Tensor, reference: torch.Tensor) -> float:
    """:func:`frechet_distance` of the classifier features of two sets of digit images, each
    (n, 1, 8, 8) or (n, 64) in the data's original units (0..16)."""
    generated = torch.as_tensor(generated, dtype=torch.float32)
    if not torch.isfinite(generated).all():  # a diverged model: scored inf, as sample_metrics does
        return math.inf
    net = classifier()
    a = net.features(generated.reshape(-1, 1, 8, 8))
    b = net.features(torch.as_tensor(reference, dtype=torch.float32).reshape(-1, 1, 8, 8))
    return frechet_distance(a.numpy(), b.numpy())


def applies(dataset: str) -> bool:
    """Whether a run's target ``dataset`` is the built-in digits the classifier knows."""
    return dataset.split("->")[-1].strip() == "digits"
