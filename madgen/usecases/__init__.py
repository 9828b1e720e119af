"""The use cases that drive Blender for one purpose each: rendering training views (``madgen render``),
rendering a defective view with its mask (builds, fidelity checks) and previewing a defect type
(``madgen defects preview``)."""
