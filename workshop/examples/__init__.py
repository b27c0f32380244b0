"""Small programs that the workshop's units study, profile, call or compile: one per module.

They are teaching material, not tools: each is short enough to read in a notebook cell.
"""

from __future__ import annotations

__all__: list[str] = []
