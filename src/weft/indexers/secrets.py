"""Data source secrets are sealed by the shared :class:`weft.secretbox.SecretBox` (kept here for imports)."""
from weft.secretbox import SecretBox

__all__ = ["SecretBox"]
