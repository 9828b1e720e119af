"""OmniposeAD, the PAD benchmark's pose-agnostic detector, and its metrics (``madgen.ad.metrics``)."""
