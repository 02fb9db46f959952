"""Async counterpart of the stand-in: the recording decorator only trims the settings the test takes."""
from __future__ import annotations

from devtools_testutils import trim_kwargs


def recorded_by_proxy_async(fn):
    async def wrapper(*args, **kwargs):
        return await fn(*args, **trim_kwargs(fn, kwargs))

    wrapper.__name__, wrapper.__qualname__, wrapper.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return wrapper
