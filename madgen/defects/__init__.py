"""``madgen.defects``: defect types as seeded, JSON-serialisable plans (pure; no Blender).

Write your own injector by subclassing :class:`DefectKind` (``plan``, ``apply``, ``mask``) and
registering it through the ``madgen.defects`` entry-point group or ``--plugin module:Class``;
or write a YAML template that ``extends`` a built-in type.
"""

from .base import DefectKind, DefectScene, MaskLayers, StainBlob
from .burrs import Burrs, burr_mesh
from .missing import Missing
from .plan import DefectPlan, PlanContext, draw_value, facing_triangles, pick_target, sample_surface_point
from .registry import BUILTIN_TYPES, DefectRegistry, DefectType, load_plugin, load_registry
from .stains import Stains
from .templates import Choice, DefectTemplate, Number, Palette

__all__ = [
    "BUILTIN_TYPES", "Burrs", "Choice", "DefectKind", "DefectPlan", "DefectRegistry", "DefectScene",
    "DefectTemplate", "DefectType", "MaskLayers", "Missing", "Number", "Palette", "PlanContext", "StainBlob",
    "Stains", "burr_mesh", "draw_value", "facing_triangles", "load_plugin", "load_registry", "pick_target",
    "sample_surface_point",
]
