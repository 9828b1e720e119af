"""Per-job seeds derived from a root seed and the job's identity (no global RNG).

``derive_seed(7, "01Gorilla", "train", 12)`` is the same on every machine, in every shard and on
every retry, so a view renders the same pixels wherever and whenever it runs.
"""

from __future__ import annotations

import hashlib


def derive_seed(root_seed: int, *identity: object) -> int:
    """A 31-bit seed from ``root_seed`` and the parts of a job's identity."""
    text = "\x1f".join([str(int(root_seed)), *(str(part) for part in identity)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF
