"""Anomaly metrics against direct computations: scikit-learn where it exists, hand-worked otherwise."""

from __future__ import annotations

import time

import numpy as np
import pytest

from madgen.ad.metrics import PixelMetrics, auroc, auroc_from_histograms, object_box

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("seed", range(5))
def test_image_auroc_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 300)
    scores = rng.normal(size=300) + labels * rng.uniform(0, 2)
    scores[:40] = np.round(scores[:40], 1)  # ties
    assert auroc(scores, labels) == pytest.approx(sklearn_metrics.roc_auc_score(labels, scores), abs=1e-6)


def test_auroc_edge_cases() -> None:
    assert auroc([0.1, 0.9], [0, 1]) == 1.0
    assert auroc([0.9, 0.1], [0, 1]) == 0.0
    assert auroc([0.5, 0.5, 0.5], [0, 1, 1]) == 0.5
    with pytest.raises(ValueError, match="both positive and negative"):
        auroc([0.1, 0.2], [1, 1])


def test_pixel_auroc_equals_sklearn_on_grid_scores() -> None:
    rng = np.random.default_rng(1)
    metrics = PixelMetrics(bins=1024, aupro_bins=256)
    maps, masks = [], []
    for _ in range(6):
        anomaly = rng.integers(0, 1024, (20, 30)) / 1024.0  # on the quantisation grid
        mask = np.zeros((20, 30), bool)
        mask[5:9, 10:16] = rng.uniform() < 0.7
        anomaly[mask] = np.minimum(anomaly[mask] + 307 / 1024, 1023 / 1024)
        metrics.add(anomaly, mask)
        maps.append(anomaly)
        masks.append(mask)
    expected = sklearn_metrics.roc_auc_score(np.concatenate([m.ravel() for m in masks]),
                                             np.concatenate([a.ravel() for a in maps]))
    assert metrics.pixel_auroc() == pytest.approx(expected, abs=1e-9)


def test_histogram_auroc_counts_ties_half() -> None:
    assert auroc_from_histograms([0, 2], [0, 2]) == 0.5
    assert auroc_from_histograms([0, 1], [1, 0]) == 1.0


def test_segmentation_auroc_uses_only_the_object_box() -> None:
    """A crafted image: a grey object in the middle of white; the map is perfect on the object
    but lights up the background corners, which only the plain pixel AUROC sees."""
    image = np.full((40, 40, 3), 255, np.uint8)
    image[10:30, 12:28] = 120
    assert object_box(image) == (10, 12, 30, 28)
    mask = np.zeros((40, 40), bool)
    mask[15:20, 15:20] = True
    anomaly = np.zeros((40, 40))
    anomaly[mask] = 0.8
    anomaly[:5, :5] = 0.9  # background false alarms, outside the box
    metrics = PixelMetrics(bins=256, aupro_bins=256)
    metrics.add(anomaly, mask, image)
    assert metrics.segmentation_auroc() == 1.0
    inside = np.zeros((40, 40), bool)
    inside[10:30, 12:28] = True
    expected_box = sklearn_metrics.roc_auc_score(mask[inside], np.floor(anomaly[inside] * 256))
    assert metrics.segmentation_auroc() == pytest.approx(expected_box)
    assert metrics.pixel_auroc() == pytest.approx(sklearn_metrics.roc_auc_score(mask.ravel(), anomaly.ravel()))
    assert metrics.pixel_auroc() < 1.0
    assert object_box(np.full((4, 4, 3), 255, np.uint8)) is None


def test_aupro_hand_worked_example() -> None:
    """One row of four pixels: scores 0.9 0.6 0.3 0.1; two one-pixel defects (0 and 2).

    Lowering the threshold: 0.9 catches defect A (PRO 0.5, FPR 0); 0.6 adds a normal pixel
    (FPR 0.5); 0.3 catches defect B (PRO 1); 0.1 the last normal pixel (FPR 1). The curve is
    (0,0) (0,0.5) (0.5,0.5) (0.5,1) (1,1): area 0.15 up to FPR 0.3 (0.5 normalised) and 0.75
    up to FPR 1.
    """
    metrics = PixelMetrics(bins=4096, aupro_bins=4096)
    metrics.add(np.array([[0.9, 0.6, 0.3, 0.1]]), np.array([[1, 0, 1, 0]], bool))
    assert metrics.aupro(0.3) == pytest.approx(0.5)
    assert metrics.aupro(1.0) == pytest.approx(0.75)


def test_aupro_perfect_and_regions_weigh_equally() -> None:
    metrics = PixelMetrics()
    mask = np.zeros((10, 10), bool)
    mask[1:3, 1:3] = True  # a small region
    mask[5:10, 5:10] = True  # a large one
    anomaly = mask.astype(float) * 0.9
    metrics.add(anomaly, mask)
    assert metrics.aupro() == pytest.approx(1.0)
    half = PixelMetrics()
    anomaly = np.zeros((10, 10))
    anomaly[1:3, 1:3] = 0.9  # only the small region is found: PRO 0.5 whatever its size
    half.add(anomaly, mask)
    # the curve (0,0) (0,0.5) (1,1): PRO 0.65 at FPR 0.3, area 0.3 * (0.5 + 0.65) / 2, over 0.3
    assert half.aupro() == pytest.approx(0.575)


def test_metrics_stay_fast_and_small_on_300_maps_of_400px() -> None:
    rng = np.random.default_rng(0)
    metrics = PixelMetrics()
    anomaly = rng.random((400, 400), dtype=np.float32)
    mask = np.zeros((400, 400), bool)
    mask[100:140, 200:260] = True
    image = np.full((400, 400, 3), 255, np.uint8)
    image[80:300, 90:320] = 100
    started = time.perf_counter()
    for number in range(300):
        metrics.add(anomaly, mask if number % 2 else np.zeros_like(mask), image)
    values = (metrics.pixel_auroc(), metrics.segmentation_auroc(), metrics.aupro())
    elapsed = time.perf_counter() - started
    assert all(0.45 < v < 0.55 for v in values[:2])  # random maps: AUROC 0.5,
    assert 0.13 < values[2] < 0.17  # and PRO = FPR, so AUPRO up to 0.3 is 0.15
    histograms = sum(a.nbytes for a in (metrics.positive, metrics.negative, metrics.box_positive,
                                        metrics.box_negative)) + sum(r.nbytes for r in metrics.regions)
    assert histograms < 10 * 2**20
    assert elapsed < 120  # generous for a loaded CI machine; the benchmark is the real figure


def test_bootstrap_intervals_say_how_far_an_auroc_can_move_by_chance() -> None:
    from madgen.ad.metrics import bootstrap_aurocs, interval

    rng = np.random.default_rng(3)

    def draw(good: int, bad: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.r_[np.zeros(good), np.ones(bad)].astype(bool)
        return rng.normal(size=good + bad) + 0.8 * labels, labels

    scores, labels = draw(30, 60)
    resampled = bootstrap_aurocs([scores, scores, -scores], labels)
    assert resampled.shape == (2000, 3)
    low, high = interval(resampled[:, 0])
    assert low < auroc(scores, labels) < high and 0.1 < high - low < 0.3  # 90 images: about +-0.1
    assert np.array_equal(resampled[:, 0], resampled[:, 1])  # paired: the same draw for every method
    np.testing.assert_allclose(resampled[:, 2], 1.0 - resampled[:, 0])
    assert np.array_equal(bootstrap_aurocs([scores], labels), bootstrap_aurocs([scores], labels))  # seeded
    many, many_labels = draw(480, 960)
    wide = high - low
    narrow = np.subtract(*interval(bootstrap_aurocs([many], many_labels)[:, 0])[::-1])
    assert narrow < 0.5 * wide  # sixteen times the images: about a quarter of the width
    perfect = np.r_[np.zeros(5), np.ones(7)]
    assert interval(bootstrap_aurocs([perfect], perfect.astype(bool))[:, 0]) == (1.0, 1.0)
    with pytest.raises(ValueError):
        bootstrap_aurocs([scores], np.ones(len(scores), bool))
