"""``madgen.ldraw``: a pure-Python LDraw reader (no Blender).

Typical use::

    from madgen.ldraw import Library, load_assembly
    library = Library()                     # explicit roots, then LDRAWDIR, then ldraw_parts/
    assembly = load_assembly("scenes/01Gorilla.ldr", library=library)
    print(len(assembly.instances), assembly.triangle_count)
"""

from .assembly import Assembly, PartInstance, load_assembly
from .colours import Colour, ColourTable
from .errors import LDrawError, LDrawWarning, MissingPartsError
from .frames import LDU_IN_METRES, ldraw_to_blender_matrix, points_to_blender, transform_to_blender
from .geometry import PartMesh
from .library import RESOLUTIONS, Library, LibraryRoot, default_roots
from .parser import LDrawDocument, LDrawFile, parse_ldraw

__all__ = [
    "Assembly", "Colour", "ColourTable", "LDU_IN_METRES", "LDrawDocument", "LDrawError", "LDrawFile",
    "LDrawWarning", "Library", "LibraryRoot", "MissingPartsError", "PartInstance", "PartMesh",
    "RESOLUTIONS", "default_roots", "ldraw_to_blender_matrix", "load_assembly", "parse_ldraw",
    "points_to_blender", "transform_to_blender",
]
