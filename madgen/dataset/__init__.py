"""``madgen.dataset``: the MAD-Sim on-disk layout, atomic and deterministic file writes."""
