"""The injector interface: ``plan`` (pure), ``apply`` (through a scene facade) and ``mask``.

Built-in kinds (``missing``, ``burrs``, ``stains``) and user plugins implement
:class:`DefectKind`. ``apply`` never touches ``bpy`` itself: it calls the :class:`DefectScene`
facade, which :mod:`madgen.render` implements. So a kind is testable without Blender, and the
renderer keeps the only ``bpy`` code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence

import numpy as np

from .plan import DefectPlan, PlanContext
from .templates import DefectTemplate, ParamSpec


@dataclass(frozen=True)
class StainBlob:
    """One ellipsoid of a stain in the target part's frame (LDU).

    ``axes`` holds the ellipsoid's unit axes as rows; ``radii`` its half-lengths along them.
    The stain's opacity at a point is ``opacity * min(1, edge * max_blobs(1 - |q|^2))`` with
    ``q = axes @ (p - centre) / radii`` (``edge`` 2 by default), lowered by its mottle.
    """

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]
    axes: tuple[tuple[float, float, float], ...]


class DefectScene(Protocol):
    """What ``apply`` may do to the scene of one view (implemented by the renderer)."""

    def hide_instances(self, instances: Sequence[int]) -> None:
        """Leave these part instances out of the defective render."""

    def add_mesh(self, instance: int, vertices_ldu: np.ndarray, triangles: np.ndarray) -> int:
        """Attach a mesh (in the instance's part frame, LDU) in that part's colour; returns its label."""

    def add_stain(self, instance: int, blobs: Sequence[StainBlob], rgb: tuple[float, float, float],
                  opacity: float, *, edge: float = 2.0, mottle: float = 0.0, mottle_scale: float = 1.0,
                  spread: Sequence[int] = ()) -> int:
        """Blend a stain into one instance's surface (blobs in its part frame, LDU) and into the
        ``spread`` instances' surfaces where they enter the same blobs; returns its label.

        ``edge``: how fast the opacity rises from the rim inwards; ``mottle`` (0..1): how much a
        noise of ``mottle_scale`` features per metre (in the target's frame) breaks it up."""


@dataclass
class MaskLayers:
    """Per-pixel layers of a defective view and its defect-free twin, for mask rules.

    ``good_instance_ids`` / ``instance_ids``: the part instance each pixel sees (-1 for none) in
    the defect-free and the defective render. ``added_labels``: the label of an added mesh the
    pixel sees (-1 for none). ``stain_opacity``: the stain's opacity at the pixel (0 for none).
    """

    good_instance_ids: np.ndarray
    instance_ids: np.ndarray
    added_labels: np.ndarray
    stain_opacity: np.ndarray


class DefectKind(ABC):
    """An injector: draws plans, applies them to a scene, and derives the exact mask."""

    #: The ``kind:`` a template names to use this injector.
    kind: str = ""
    #: The parameters a template must bound, with their allowed types and ranges.
    schema: Mapping[str, ParamSpec] = {}
    #: The share of mask pixels whose surface colour must change (what was seen there before
    #: against what is seen after, from the ID passes) for a draw to be taken outright; 0 turns
    #: the check off. A defect in the colour of what lies behind it hardly shows in the image.
    wanted_contrast: float = 0.0
    #: The predicted mask fidelity for a draw to be taken outright; 0 turns the check off. It is
    #: the IoU of the draw's mask with the pixels that changed between two cheap probe renders
    #: (good and defective, same seed). It catches what the ID passes cannot see: a removed
    #: part's shadow on its neighbours, and a defect in the colour of what lies behind it.
    wanted_fidelity: float = 0.0
    #: The pixel coverage at which a pixel joins the mask (see :mod:`madgen.defects.coverage`);
    #: ``None`` takes the render profile's ``mask_coverage``. Geometry (burrs, missing parts)
    #: tints every pixel it partly covers; a soft texture edge such as a stain's does not.
    mask_coverage: float | None = None

    @abstractmethod
    def plan(self, template: DefectTemplate, context: PlanContext, seed: int, attempt: int) -> DefectPlan:
        """Draw one defect for the view in ``context`` (pure and deterministic)."""

    @abstractmethod
    def apply(self, plan: DefectPlan, scene: DefectScene) -> None:
        """Change the scene to show the defect."""

    @abstractmethod
    def mask(self, plan: DefectPlan, layers: MaskLayers) -> np.ndarray:
        """The boolean mask of the pixels where the defect is visible."""
