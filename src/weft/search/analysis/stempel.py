"""Polish stemming as Lucene's ``pl.lucene`` does it: the Stempel stemmer (Andrzej Białecki) over the Egothor
stemmer table Lucene ships (``rules/stemmer_20000.tbl``, unchanged; its notice is beside it).

The table is a Java ``DataOutputStream`` image of an Egothor ``MultiTrie2``: a list of tries read from the end of the
word. Each trie maps the word's letters (last first) to patch commands; the stemmer walks every trie, keeps the
last command found on the path, joins the pieces and applies the patch to the word from its end. The patch language
(pairs of an operation and an argument letter, ``a`` = 1): ``-x`` skip x letters, ``Dx`` delete x letters, ``Rc``
replace the letter with ``c``, ``Ic`` insert ``c``. Where the Java code stops on an out-of-range index (a patch that
does not fit the word, a skip past the start), this module stops at the same point and keeps what it has, as
Lucene does. Checked word by word against Lucene 8.7's StempelFilter (``tests/search/analysis/data/lucene_stems.tsv``).
"""
from __future__ import annotations

import functools
import struct
from pathlib import Path

TABLE = Path(__file__).parent / "rules" / "stemmer_20000.tbl"
MIN_LENGTH = 3  # StempelFilter leaves terms of at most this many characters alone
_EOM = "*"  # a MultiTrie's end-of-command marker


class _OutOfRange(Exception):
    """Where Java would throw an IndexOutOfBoundsException."""


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.at = 0

    def int(self) -> int:
        (v,) = struct.unpack_from(">i", self.data, self.at)
        self.at += 4
        return v

    def bool(self) -> bool:
        v = self.data[self.at] != 0
        self.at += 1
        return v

    def utf(self) -> str:
        (n,) = struct.unpack_from(">H", self.data, self.at)
        raw = self.data[self.at + 2:self.at + 2 + n]
        self.at += 2 + n
        # Java's modified UTF-8: NUL as C0 80, supplementary characters as two encoded surrogates
        return raw.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")

    def cells(self, count: int) -> dict[str, tuple[int, int]]:
        row: dict[str, tuple[int, int]] = {}
        for _ in range(count):
            ch, cmd, _cnt, ref, _skip = struct.unpack_from(">Hiiii", self.data, self.at)
            self.at += 18
            row[chr(ch)] = (cmd, ref)
        return row


class _Trie:
    __slots__ = ("forward", "root", "cmds", "rows")

    def __init__(self, r: _Reader):
        self.forward = r.bool()
        self.root = r.int()
        self.cmds = [r.utf() for _ in range(r.int())]
        self.rows = [r.cells(r.int()) for _ in range(r.int())]

    def last_on_path(self, key: str) -> str | None:
        """The command stored last on the key's path (Egothor's ``Trie.getLastOnPath``)."""
        if not key:
            raise _OutOfRange
        letters = key if self.forward else key[::-1]
        row = self.rows[self.root] if 0 <= self.root < len(self.rows) else None
        last = None
        for ch in letters[:-1]:
            cell = row.get(ch) if row is not None else None
            if cell is None:
                return last
            cmd, ref = cell
            if cmd >= 0:
                last = self.cmds[cmd]
            if ref < 0:
                return last
            row = self.rows[ref] if ref < len(self.rows) else None
        cell = row.get(letters[-1]) if row is not None else None
        return self.cmds[cell[0]] if cell is not None and cell[0] >= 0 else last


def _patch_length(cmd: str) -> int:
    """How many letters of the word a command piece covers (Egothor's ``lengthPP``)."""
    n = 0
    i = 0
    while i < len(cmd):
        op = cmd[i]
        i += 1
        if op in "-D":
            if i >= len(cmd):
                raise _OutOfRange
            n += ord(cmd[i]) - ord("a") + 1
        elif op == "R":
            n += 1
        i += 1
    return n


class _MultiTrie:
    def __init__(self, data: bytes):
        r = _Reader(data)
        method = r.utf().upper()
        if "M" not in method:
            raise ValueError("weft reads only MultiTrie2 stemmer tables")
        self.forward = r.bool()
        r.int()  # BY (unused by MultiTrie2)
        self.tries = [_Trie(r) for _ in range(r.int())]

    def _skip(self, key: str, count: int) -> str:
        if not 0 <= count <= len(key):
            raise _OutOfRange
        return key[count:] if self.forward else key[:len(key) - count]

    def command(self, key: str) -> str:
        """Egothor's ``MultiTrie2.getLastOnPath``: the pieces of every trie joined, stopping where the Java code
        returns early or throws."""
        out: list[str] = []
        last_key = key
        last_ch = " "
        previous = None
        try:
            for trie in self.tries:
                r = trie.last_on_path(last_key)
                if r is None or r == _EOM:
                    break
                if last_ch in "-D" and last_ch == r[0]:
                    break
                if len(r) < 2:
                    raise _OutOfRange
                last_ch = r[-2]
                if r[0] == "-":
                    if previous is not None:
                        key = self._skip(key, _patch_length(previous))
                    key = self._skip(key, _patch_length(r))
                previous = r
                out.append(r)
                if key:
                    last_key = key
        except _OutOfRange:
            pass
        return "".join(out)


def apply_patch(word: str, patch: str) -> str:
    """Egothor's ``Diff.apply``: run the patch from the word's last letter backwards; an operation that falls
    outside the word ends the patch there (the letters changed so far stay changed)."""
    s = list(word)
    pos = len(s) - 1
    if pos < 0:
        return word
    for i in range(len(patch) // 2):
        op, arg = patch[2 * i], patch[2 * i + 1]
        count = ord(arg) - ord("a") + 1
        if op == "-":
            pos = pos - count + 1
        elif op == "R":
            if not 0 <= pos < len(s):
                break
            s[pos] = arg
        elif op == "D":
            end = pos
            pos -= count - 1
            if pos < 0 or pos > end + 1 or pos > len(s):
                break
            del s[pos:end + 1]
        elif op == "I":
            pos += 1
            if not 0 <= pos <= len(s):
                break
            s.insert(pos, arg)
        pos -= 1
    return "".join(s)


@functools.lru_cache(maxsize=1)
def _table() -> _MultiTrie:
    return _MultiTrie(TABLE.read_bytes())


@functools.lru_cache(maxsize=65536)
def stem(term: str) -> str:
    """StempelFilter with Lucene's Polish table: the stem, or the term itself when it is short or the patch
    leaves nothing."""
    if len(term) <= MIN_LENGTH:
        return term
    out = apply_patch(term, _table().command(term))
    return out or term
