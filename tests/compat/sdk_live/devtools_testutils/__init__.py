"""weft's stand-in for the Azure SDK repository's ``devtools_testutils`` (not on PyPI), live mode only.

The SDK's live tests import a few names from it. Here every test runs live against the ``weft serve`` named by
``SEARCH_SERVICE_ENDPOINT`` with the admin key in ``WEFT_SDK_ADMIN_KEY``; the recording decorators and
sanitizers do nothing, because nothing is recorded.
"""
from __future__ import annotations

import functools
import inspect
import os

import pytest
from azure.core.credentials import AzureKeyCredential


class AzureTestError(Exception):
    pass


def get_credential(is_async: bool = False, **_kwargs):
    return AzureKeyCredential(os.environ["WEFT_SDK_ADMIN_KEY"])


def is_live() -> bool:
    return True


class AzureRecordedTestCase:
    @property
    def is_live(self) -> bool:
        return True

    def get_resource_name(self, name: str) -> str:
        return name


def trim_kwargs(fn, kwargs: dict) -> dict:
    """Only the settings the test function takes (as the real decorators pass them)."""
    spec = inspect.getfullargspec(inspect.unwrap(fn))
    if spec.varkw is not None:
        return kwargs
    return {k: v for k, v in kwargs.items() if k in spec.args or k in spec.kwonlyargs}


def recorded_by_proxy(fn):
    def wrapper(*args, **kwargs):
        return fn(*args, **trim_kwargs(fn, kwargs))

    wrapper.__name__, wrapper.__qualname__, wrapper.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return wrapper


class EnvironmentVariableLoader:
    """``EnvironmentVariableLoader("search", search_service_endpoint=fake, ...)`` as a decorator: passes each
    named setting from the environment (upper-cased name), falling back to the fake value."""

    def __init__(self, directory: str, **fakes: str):
        self.directory = directory
        self.fakes = fakes

    def _values(self) -> dict[str, str]:
        return {k: os.environ.get(k.upper(), v) for k, v in self.fakes.items()}

    def __call__(self, fn):
        # Not functools.wraps: pytest would follow __wrapped__ and take the test's parameters for fixtures.
        if inspect.iscoroutinefunction(fn):

            async def async_wrapper(test, **kwargs):
                kwargs.update(self._values())
                return await fn(test, **kwargs)

            wrapper = async_wrapper
        else:

            def wrapper(test, **kwargs):
                kwargs.update(self._values())
                return fn(test, **kwargs)

        wrapper.__name__, wrapper.__qualname__, wrapper.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        return wrapper


@pytest.fixture(scope="session")
def test_proxy():
    yield None


def remove_batch_sanitizers(*_args, **_kwargs) -> None:
    return None
