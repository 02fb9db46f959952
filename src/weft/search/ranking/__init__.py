"""Ranking beyond the engine's first stage: semantic reranking (and, later, scoring profiles and fusion)."""
