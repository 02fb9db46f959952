"""Reading and checking the parameters of one analysis component definition (400s name the member)."""
from __future__ import annotations

from typing import Any

import regex

from weft.errors import InvalidInput

_JAVA_FLAGS = {
    "CANON_EQ": 0,
    "CASE_INSENSITIVE": regex.IGNORECASE,
    "COMMENTS": regex.VERBOSE,
    "DOTALL": regex.DOTALL,
    "LITERAL": None,
    "MULTILINE": regex.MULTILINE,
    "UNICODE_CASE": 0,
    "UNIX_LINES": 0,
}


def regex_flags(flags: str | None) -> tuple[int, bool]:
    value, literal = 0, False
    for flag in (flags or "").split("|"):
        flag = flag.strip()
        if not flag:
            continue
        if flag not in _JAVA_FLAGS:
            raise InvalidInput(f"Unknown regular expression flag '{flag}'. Flags: {', '.join(_JAVA_FLAGS)}.")
        if _JAVA_FLAGS[flag] is None:
            literal = True
        else:
            value |= _JAVA_FLAGS[flag]
    return value, literal


class Params:
    def __init__(self, item: dict[str, Any], name: str, section: str):
        self.item = item
        self.name = name
        self.section = section
        self.used = {"name", "@odata.type"}

    def _fail(self, member: str, why: str) -> InvalidInput:
        return InvalidInput(f"The parameter '{member}' of '{self.name}' in '{self.section}' {why}.")

    def _get(self, member: str, required: bool):
        self.used.add(member)
        value = self.item.get(member)
        if value is None and required:
            raise self._fail(member, "is required")
        return value

    def check(self, ok: bool, member: str, why: str) -> None:
        if not ok:
            raise self._fail(member, why)

    def int(self, member: str, default: int, lo: int, hi: int) -> int:
        value = self._get(member, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(member, "must be an integer")
        if not lo <= value <= hi:
            raise self._fail(member, f"must be between {lo} and {hi}")
        return value

    def bool(self, member: str, default: bool) -> bool:
        value = self._get(member, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(member, "must be a boolean")
        return value

    def str(self, member: str, default: str | None, required: bool = False) -> str | None:
        value = self._get(member, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._fail(member, "must be a string")
        return value

    def char(self, member: str, default: str) -> str:
        value = self.str(member, default)
        if len(value) != 1:
            raise self._fail(member, "must be a single character")
        return value

    def enum(self, member: str, default: str | None, allowed: tuple, required: bool = False) -> str | None:
        value = self.str(member, default, required)
        if value is not None and value not in allowed:
            raise self._fail(member, f"must be one of {', '.join(allowed)}")
        return value

    def str_list(self, member: str, required: bool = False) -> list[str]:
        value = self._get(member, False)
        if value is None or value == []:
            if required:
                raise self._fail(member, "is required and must not be empty")
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(member, "must be an array of strings")
        return value

    def enum_list(self, member: str, allowed: tuple) -> list[str]:
        values = self.str_list(member)
        for v in values:
            if v not in allowed:
                raise self._fail(member, f"has '{v}'; allowed values are {', '.join(allowed)}")
        return values

    def compile_value(self, member: str, pattern: str, flags: str | None = None):
        value, literal = regex_flags(flags)
        try:
            # Java regex semantics: \w, \d, \s and \b are ASCII unless asked otherwise
            return regex.compile(regex.escape(pattern) if literal else pattern, value | regex.ASCII)
        except regex.error as exc:
            raise self._fail(member, f"is not a valid regular expression ({exc})")

    def regex(self, member: str, default: str | None, flags: str | None, required: bool = False):
        pattern = self.str(member, default, required)
        return self.compile_value(member, pattern, flags)

    def finish(self) -> None:
        unknown = [k for k in self.item if k not in self.used]
        if unknown:
            raise InvalidInput(f"The {self.section[:-1]} '{self.name}' has the unknown parameter '{unknown[0]}'.")
