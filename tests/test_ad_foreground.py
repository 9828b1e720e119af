"""Telling the object from its background (madgen.ad.foreground): the learned plain-background
rule and GrabCut segmentation on a busy background. Pure numpy and OpenCV."""

from __future__ import annotations

import numpy as np

from madgen.ad.foreground import BackgroundRule, composite_on_white, mask_iou, segment


def _scene(seed: int = 0, size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """A light-grey toy (an ellipse with a darker band) on a wood-like bench under a grey backdrop."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size] / size
    image = np.empty((size, size, 3), np.float32)
    grain = 0.5 + 0.5 * np.sin(40 * rows + 6 * np.sin(9 * cols))
    image[:] = np.stack([0.55 + 0.15 * grain, 0.38 + 0.1 * grain, 0.22 + 0.05 * grain], axis=-1)
    image[rows < 0.45] = (0.45, 0.5, 0.55)  # the backdrop
    image += rng.normal(0, 0.02, image.shape).astype(np.float32)
    toy = ((rows - 0.5) / 0.3) ** 2 + ((cols - 0.5) / 0.22) ** 2 <= 1
    image[toy] = 0.86 + rng.normal(0, 0.015, (int(toy.sum()), 3))
    image[toy & (np.abs(rows - 0.55) < 0.04)] = (0.7, 0.7, 0.72)
    return np.clip(image, 0, 1), toy


def test_rule_learns_white_and_its_spread() -> None:
    images = np.ones((4, 20, 20, 3), np.float32)
    images[:, 5:15, 5:15] = 0.995  # a white toy, one level below the background
    rule = BackgroundRule.learn(images)
    assert rule is not None and rule.colour == (1.0, 1.0, 1.0)
    assert rule.foreground(images)[:, 5:15, 5:15].all() and not rule.foreground(images)[:, :5].any()
    noisy = images + np.random.default_rng(1).normal(0, 0.01, images.shape).astype(np.float32)
    noisy_rule = BackgroundRule.learn(np.clip(noisy, 0, 1))
    assert noisy_rule is not None and noisy_rule.tolerance > rule.tolerance  # learned from the spread


def test_rule_refuses_a_busy_border() -> None:
    image, _ = _scene()
    assert BackgroundRule.learn(image[None]) is None
    assert not BackgroundRule((1.0, 1.0, 1.0), 0.01).plain(image)


def test_segmentation_finds_a_light_toy_on_a_bench_and_is_repeatable() -> None:
    image, toy = _scene()
    first = segment(image)
    assert mask_iou(first, toy) > 0.9
    assert (segment(image) == first).all()  # OpenCV's generator is reseeded: same input, same mask
    refined = segment(image, prior=np.roll(toy, 2, axis=1))  # a render two pixels off
    assert mask_iou(refined, toy) > 0.9


def test_composite_on_white() -> None:
    image = np.full((2, 2, 3), 0.2, np.float32)
    alpha = np.array([[1.0, 0.0], [0.5, 0.0]])
    out = composite_on_white(image, alpha)
    assert np.allclose(out[0, 0], 0.2) and np.allclose(out[0, 1], 1.0) and np.allclose(out[1, 0], 0.6)


def test_holes_in_a_silhouette_are_filled() -> None:
    from madgen.ad.foreground import fill_holes

    mask = np.zeros((12, 12), bool)
    mask[2:10, 2:10] = True
    mask[4:6, 4:6] = False  # a highlight at the background's white, inside the toy
    mask[6:8, 9:10] = False  # a notch open to the outside stays background
    filled = fill_holes(mask)
    assert filled[4:6, 4:6].all() and not filled[6:8, 9].any() and not filled[0].any()
    assert (fill_holes(np.stack([mask, mask])) == filled).all()
