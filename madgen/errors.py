"""The error type every madgen failure that a user can fix derives from.

The CLI turns a :class:`MadgenError` into one clear line on stderr (no traceback); anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations


class MadgenError(Exception):
    """A user-facing error: bad input, a missing file, an impossible option."""
