"""The chosen model's samples drawn beside the test data: a scatter plot for 2-D points, grids of
images for (C, H, W) data. Used by the search's report (:mod:`.page`) and a study's page
(:mod:`.study_page`); matplotlib and numpy are imported where drawn, off the import path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The chosen model's test-split samples, written by the search beside best_eval.json.
BEST_SAMPLES_FILENAME = "best_samples.npz"
GRID_SIDE = 8  # image grids show 8 x 8 samples


def evaluated_samples(experiment: Path, trial_id: str) -> tuple[Any, Any, str] | None:
    """(generated, test, title) from ``best_samples.npz``: the points ``best_eval.json`` was
    computed from, when they belong to ``trial_id``; None otherwise (then sample again)."""
    import numpy as np

    path = experiment / BEST_SAMPLES_FILENAME
    if not path.is_file():
        return None
    with np.load(path) as saved:
        if str(saved["trial_id"]) != trial_id:
            return None
        generated, test = saved["generated"], saved["test"]
    title = f"chosen model, {len(generated)} samples"
    return generated, test, title


def samples_figure(checkpoint: Path, path: Path, n: int) -> bool:
    """Sample the best model again (no best_samples.npz: e.g. an older search) and scatter."""
    from tune_flow.evaluation.judge import generate
    from tune_flow.training.restore import load_run

    run = load_run(checkpoint, device="cpu")
    if run.shape != (2,) and not is_image_shape(run.shape):
        return False
    generated = generate(run, n if run.shape == (2,) else GRID_SIDE**2).numpy()
    test = run.stats.denormalize(run.data.x_1_test).numpy()
    return scatter(generated, test, f"chosen model, {len(generated)} samples", path)


def is_image_shape(shape: tuple[int, ...]) -> bool:
    """(C, H, W) with 1 (grey) or 3 (RGB) channels: drawn as images."""
    return len(shape) == 3 and shape[0] in (1, 3)


def image_mosaic(images: Any, side: int = GRID_SIDE) -> Any:
    """Up to ``side`` x ``side`` images (n, C, H, W) tiled into one (side*H, side*W[, 3]) array
    scaled to [0, 1] by the first image set's own range (no assumed pixel range)."""
    import numpy as np

    images = np.asarray(images[: side * side], dtype=np.float64)
    n, c, h, w = images.shape
    canvas = np.full((side * (h + 1), side * (w + 1), c), np.nan)
    for i, image in enumerate(images):
        r, q = divmod(i, side)
        canvas[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = image.transpose(
            1, 2, 0
        )
    return canvas[..., 0] if c == 1 else canvas


def shown_images(mosaic: Any, low: float, high: float) -> dict[str, Any]:
    """imshow arguments for a mosaic scaled from [low, high] to [0, 1]: grey images dark on white
    (ink on paper, as digits are drawn), the gaps between images white."""
    import numpy as np

    scaled = np.clip((mosaic - low) / max(high - low, 1e-12), 0, 1)
    if scaled.ndim == 2:
        return {"X": np.nan_to_num(scaled, nan=0.0), "cmap": "gray_r", "vmin": 0, "vmax": 1}
    return {"X": np.nan_to_num(scaled, nan=1.0)}


def _image_grid(generated: Any, test: Any, title: str, path: Path) -> bool:
    """Generated images beside test images, one pixel scale for both (the test images' range)."""
    import matplotlib.pyplot as plt
    import numpy as np

    low, high = float(np.min(test)), float(np.max(test))
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.7))
    for ax, images, name in (
        (axes[0], test, f"test data ({len(test)})"),
        (axes[1], generated, title),
    ):
        ax.imshow(**shown_images(image_mosaic(images), low, high))
        ax.set_title(name)
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def scatter(generated: Any, test: Any, title: str, path: Path) -> bool:
    """Generated points (n, 2) beside the test data (m, 2), or image grids for (n, C, H, W)
    images; False (no figure) for other shapes."""
    import matplotlib.pyplot as plt

    if is_image_shape(tuple(generated.shape[1:])):
        return _image_grid(generated, test, title, path)
    if generated.ndim != 2 or generated.shape[1] != 2:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5), sharex=True, sharey=True)
    axes[0].scatter(test[:, 0], test[:, 1], s=2, alpha=0.5)
    axes[0].set_title(f"test data ({len(test)})")
    axes[1].scatter(generated[:, 0], generated[:, 1], s=2, alpha=0.5, color="tab:orange")
    axes[1].set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
