"""Agentic retrieval: knowledge sources over weft indexes, knowledge bases that retrieve from them (uses SearchService as any client does)."""
