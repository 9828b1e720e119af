"""``madgen build``: the typed build config, the pure build plan, the per-unit worker and the driver.

``madgen.pipeline.config`` and ``madgen.pipeline.plan`` are pure; ``madgen.pipeline.worker`` renders (it
defers its Blender import); ``madgen.pipeline.run.build_dataset`` ties them to a runner.
"""
