"""Sanitizers are for recordings; live runs record nothing, so these do nothing."""
from __future__ import annotations


def add_remove_header_sanitizer(*_args, **_kwargs) -> None:
    return None


def add_general_regex_sanitizer(*_args, **_kwargs) -> None:
    return None
