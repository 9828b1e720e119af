"""``madgen.render``: the only package that imports ``bpy``.

It builds a category's Blender scene from an :class:`~madgen.ldraw.Assembly` once
(:mod:`.scene`, :mod:`.materials`, :mod:`.lighting`) and renders views of it with exact
instance-ID masks (:mod:`.session`). Version-specific Blender calls live in :mod:`.compat`.
"""

from .session import RenderedView, RenderSession

__all__ = ["RenderSession", "RenderedView"]
