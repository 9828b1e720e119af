"""``madgen build``: the typed build config, the pure build plan, the per-unit worker and the driver.

``madgen.build.config`` and ``madgen.build.plan`` are pure; ``madgen.build.worker`` renders (it
defers its Blender import); ``madgen.build.run.build_dataset`` ties them to a runner.
"""
