"""madgen: regenerate the MAD-Sim dataset (PAD benchmark) with Blender and run OmniposeAD on it.

Layers, each depending only on the ones above it:

- ``madgen.ldraw``: pure LDraw parsing and geometry (no Blender).
- ``madgen.categories``/``madgen.stats``: the 20 MAD categories and their attributes.
- ``madgen.cli``: the thin command-line front end.
"""

__version__ = "0.1.0"
