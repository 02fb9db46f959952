"""Lucene's Greek stemmer (GreekStemFilter, ``el.lucene``): Georgios Ntais, "Development of a Stemmer for the Greek
Language" (2006), in the form Lucene 8.7 runs it.

The input is a term already folded by Lucene's GreekLowerCaseFilter (``lower``: lower case, no
accents, final sigma as sigma). The word passes through rules 0-20 (suffix rules with exception lists), then, if
none of them changed its length, the long list of inflectional endings (rule 21), and last the comparative and
superlative endings (rule 22). The suffixes and exception sets below are the algorithm's data; the step order, the
length guards and the places where an exception writes letters back follow Lucene's implementation (checked word by
word against Lucene 8.7, ``tests/search/analysis/data/lucene_stems.tsv``).
"""
from __future__ import annotations

import functools

_VOWELS = frozenset("αεηιουω")
_VOWELS_NO_Y = frozenset("αεηιοω")


# GreekLowerCaseFilter: accented and dialytika vowels to the plain small vowel, final sigma to sigma; everything
# else as Java's one-to-one Character.toLowerCase (so Latin accents stay: ``café`` is kept)
_GREEK_FOLD = {ord(a): b for a, b in (
    ("ς", "σ"), ("Ά", "α"), ("ά", "α"), ("Έ", "ε"), ("έ", "ε"), ("Ή", "η"), ("ή", "η"), ("Ί", "ι"), ("Ϊ", "ι"),
    ("ί", "ι"), ("ϊ", "ι"), ("ΐ", "ι"), ("Ύ", "υ"), ("Ϋ", "υ"), ("ύ", "υ"), ("ϋ", "υ"), ("ΰ", "υ"), ("Ό", "ο"),
    ("ό", "ο"), ("Ώ", "ω"), ("ώ", "ω"))}


def lower(term: str) -> str:
    """Lucene's GreekLowerCaseFilter on one term."""
    term = term.translate(_GREEK_FOLD)
    if term.islower() or term.isascii():
        return term.lower()
    return "".join(c.lower() if len(c.lower()) == 1 else c.lower()[0] for c in term).translate(_GREEK_FOLD)


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


class _Word:
    """A word as Lucene's stemmer sees it: a character buffer and a length (restoring letters uses the buffer)."""

    __slots__ = ("s", "n")

    def __init__(self, word: str):
        self.s = list(word)
        self.n = len(word)

    def ends(self, *suffixes: str) -> bool:
        n = self.n
        for suf in suffixes:
            k = len(suf)
            if k <= n and "".join(self.s[n - k:n]) == suf:
                return True
        return False

    def stem(self) -> str:
        return "".join(self.s[:self.n])

    def is_(self, words: frozenset[str]) -> bool:
        return self.stem() in words

    def vowel_end(self, no_y: bool = False) -> bool:
        return self.n > 0 and self.s[self.n - 1] in (_VOWELS_NO_Y if no_y else _VOWELS)

    def put(self, tail: str) -> None:
        """Grow the length by len(tail) and write tail there."""
        for i, c in enumerate(tail):
            self.s[self.n + i] = c
        self.n += len(tail)


# rule 0: whole-word exceptions by suffix: (minimum length exclusive, suffixes, letters to cut)
_RULE0 = [
    (9, "καθεστωτοσ καθεστωτων", 4), (8, "γεγονοτοσ γεγονοτων", 4), (8, "καθεστωτα", 3), (7, "τατογιου τατογιων", 4),
    (7, "γεγονοτα", 3), (7, "καθεστωσ", 2), (6, "σκαγιου", 4), (6, "τατογια", 3), (6, "γεγονοσ", 2),
    (5, "φαγιου φαγιων σογιου σογιων", 4), (5, "σκαγια ολογια κρεατα περατα τερατα", 3),
    (4, "φαγια σογια φωτοσ φωτων", 3), (4, "κρεασ περασ τερασ", 2), (3, "φωτα", 2), (2, "φωσ", 1),
]
# (in Lucene the length guard of the σκαγιου group covers only its first suffix)
_RULE0_UNGUARDED = "σκαγιων ολογιου ολογιων κρεατοσ κρεατων περατοσ περατων τερατοσ τερατων".split()


def _rule0(w: _Word) -> None:
    for limit, suffixes, cut in _RULE0:
        if w.n > limit and w.ends(*suffixes.split()):
            w.n -= cut
            return
        if limit == 6 and suffixes == "σκαγιου" and w.ends(*_RULE0_UNGUARDED):
            w.n -= 4
            return


def _restore_unless(w: _Word, suffixes: str, cut: int, keep: int, stems: str, negate: bool) -> None:
    if w.n > cut and w.ends(*suffixes.split()):
        w.n -= cut
        hit = w.ends(*stems.split())
        if hit != negate:
            w.n += keep


_EXC4 = _set("θ δ ελ γαλ ν π ιδ παρ")
_EXC6 = _set("αλ αδ ενδ αμαν αμμοχαλ ηθ ανηθ αντιδ φυσ βρωμ γερ εξωδ καλπ καλλιν καταδ μουλ μπαν μπαγιατ μπολ μποσ "
             "νιτ ξικ συνομηλ πετσ πιτσ πικαντ πλιατσ ποστελν πρωτοδ σερτ συναδ τσαμ υποδ φιλον φυλοδ χασ")
_EXC7 = _set("αναπ αποθ αποκ αποστ βουβ ξεθ ουλ πεθ πικρ ποτ σιχ χ")
_EXC8A = _set("τρ τσ")
_EXC8B = _set("βετερ βουλκ βραχμ γ δραδουμ θ καλπουζ καστελ κορμορ λαοπλ μωαμεθ μ μουσουλμ ν ουλ π πελεκ πλ πολισ "
              "πορτολ σαρακατσ σουλτ τσαρλατ ορφ τσιγγ τσοπ φωτοστεφ χ ψυχοπλ αγ γαλ γερ δεκ διπλ αμερικαν ουρ πιθ "
              "πουριτ σ ζωντ ικ καστ κοπ λιχ λουθηρ μαιντ μελ σιγ σπ στεγ τραγ τσαγ φ ερ αδαπ αθιγγ αμηχ ανικ ανοργ "
              "απηγ απιθ ατσιγγ βασ βασκ βαθυγαλ βιομηχ βραχυκ διατ διαφ ενοργ θυσ καπνοβιομηχ καταγαλ κλιβ κοιλαρφ "
              "λιβ μεγλοβιομηχ μικροβιομηχ νταβ ξηροκλιβ ολιγοδαμ ολογαλ πενταρφ περηφ περιτρ πλατ πολυδαπ πολυμηχ "
              "στεφ ταβ τετ υπερηφ υποκοπ χαμηλοδαπ ψηλοταβ")
_EXC9 = _set("αβαρ βεν εναρ αβρ αδ αθ αν απλ βαρον ντρ σκ κοπ μπορ νιφ παγ παρακαλ σερπ σκελ συρφ τοκ υ δ εμ θαρρ θ")
_ENDS9 = ("οδ αιρ φορ ταθ διαθ σχ ενδ ευρ τιθ υπερθ ραθ ενθ ροθ σθ πυρ αιν συνδ συν συνθ χωρ πον βρ καθ ευθ εκθ "
          "νετ ρον αρκ βαρ βολ ωφελ").split()
_EXC12A = _set("π απ συμπ ασυμπ ακαταπ αμεταμφ")
_EXC12B = _set("αλ αρ εκτελ ζ μ ξ παρακαλ προ νισ")
_EXC13 = _set("διαθ θ παρακαταθ προσθ συνθ")
_ENDS13 = "σκωλ σκουλ ναρθ σφ οθ πιθ".split()
_EXC14 = _set("φαρμακ χαδ αγκ αναρρ βρομ εκλιπ λαμπιδ λεχ μ πατ ρ λ μεδ μεσαζ υποτειν αμ αιθ ανηκ δεσποζ ενδιαφερ δε "
              "δευτερευ καθαρευ πλε τσα")
_ENDS14 = "ποδαρ βλεπ πανταχ φρυδ μαντιλ μαλλ κυματ λαχ ληγ φαγ ομ πρωτ".split()
_EXC15A = _set("αβαστ πολυφ αδηφ παμφ ρ ασπ αφ αμαλ αμαλλι ανυστ απερ ασπαρ αχαρ δερβεν δροσοπ ξεφ νεοπ νομοτ ολοπ "
               "ομοτ προστ προσωποπ συμπ συντ τ υποτ χαρ αειπ αιμοστ ανυπ αποτ αρτιπ διατ εν επιτ κροκαλοπ σιδηροπ λ "
               "ναυ ουλαμ ουρ π τρ μ")
_ENDS15A = "οφ πελ χορτ λλ σφ ρπ φρ πρ λοχ σμην".split()
_EXC15B = _set("ψοφ ναυλοχ")
_EXC16 = _set("ν χερσον δωδεκαν ερημον μεγαλον επταν")
_EXC17 = _set("ασβ σβ αχρ χρ απλ αειμν δυσχρ ευχρ κοινοχρ παλιμψ")
_EXC18 = _set("ν ρ σπι στραβομουτσ κακομουτσ εξων")
_EXC19 = _set("παρασουσ φ χ ωριοπλ αζ αλλοσουσ ασουσ")


def _rule4(w: _Word) -> None:
    if w.n > 3 and w.ends("εωσ", "εων"):
        w.n -= 3
        if w.is_(_EXC4):
            w.n += 1


def _rule5(w: _Word) -> None:
    if w.n > 2 and w.ends("ια"):
        w.n -= 2
    elif w.n > 3 and w.ends("ιου", "ιων"):
        w.n -= 3
    else:
        return
    if w.vowel_end():
        w.n += 1


def _rule6(w: _Word) -> None:
    if w.n > 3 and w.ends("ικα", "ικο"):
        w.n -= 3
    elif w.n > 4 and w.ends("ικου", "ικων"):
        w.n -= 4
    else:
        return
    if w.vowel_end() or w.is_(_EXC6):
        w.n += 2


def _rule7(w: _Word) -> bool:
    if w.n == 5 and w.ends("αγαμε"):
        w.n -= 1
        return True
    if w.n > 7 and w.ends("ηθηκαμε"):
        w.n -= 7
    elif w.n > 6 and w.ends("ουσαμε"):
        w.n -= 6
    elif w.n > 5 and w.ends("αγαμε", "ησαμε", "ηκαμε"):
        w.n -= 5
    if w.n > 3 and w.ends("αμε"):
        w.n -= 3
        if w.is_(_EXC7):
            w.n += 2
    return False


def _rule8(w: _Word) -> None:
    removed = True
    # (Lucene's guards: `len > k && a || b || c`, so only the first suffix of each group is length-guarded)
    if w.n > 8 and w.ends("ιουντανε"):
        w.n -= 8
    elif (w.n > 7 and w.ends("ιοντανε")) or w.ends("ουντανε", "ηθηκανε"):
        w.n -= 7
    elif (w.n > 6 and w.ends("ιοτανε")) or w.ends("οντανε", "ουσανε"):
        w.n -= 6
    elif (w.n > 5 and w.ends("αγανε")) or w.ends("ησανε", "οτανε", "ηκανε"):
        w.n -= 5
    else:
        removed = False
    if removed and w.is_(_EXC8A):
        w.put("αγαν")
    if w.n > 3 and w.ends("ανε"):
        w.n -= 3
        if w.vowel_end(no_y=True) or w.is_(_EXC8B):
            w.n += 2


def _rule9(w: _Word) -> None:
    if w.n > 5 and w.ends("ησετε"):
        w.n -= 5
    if w.n > 3 and w.ends("ετε"):
        w.n -= 3
        if w.is_(_EXC9) or w.vowel_end(no_y=True) or w.ends(*_ENDS9):
            w.n += 2


def _rule10(w: _Word) -> None:
    if w.n > 5 and w.ends("οντασ", "ωντασ"):
        w.n -= 5
        if w.n == 3 and w.ends("αρχ"):
            w.n += 3
            w.s[w.n - 3] = "ο"
        if w.ends("κρε"):
            w.n += 3
            w.s[w.n - 3] = "ω"


def _rule11(w: _Word) -> None:
    if w.n > 6 and w.ends("ομαστε"):
        w.n -= 6
        if w.n == 2 and w.ends("ον"):
            w.n += 5
    elif w.n > 7 and w.ends("ιομαστε"):
        w.n -= 7
        if w.n == 2 and w.ends("ον"):
            w.put("ομαστ")


def _rule12(w: _Word) -> None:
    if w.n > 5 and w.ends("ιεστε"):
        w.n -= 5
        if w.is_(_EXC12A):
            w.n += 4
    if w.n > 4 and w.ends("εστε"):
        w.n -= 4
        if w.is_(_EXC12B):
            w.n += 3


def _rule13(w: _Word) -> None:
    if w.n > 6 and w.ends("ηθηκεσ"):
        w.n -= 6
    elif w.n > 5 and w.ends("ηθηκα", "ηθηκε"):
        w.n -= 5
    if w.n > 4 and w.ends("ηκεσ"):
        w.n -= 4
    elif w.n > 3 and w.ends("ηκα", "ηκε"):
        w.n -= 3
    else:
        return
    if w.is_(_EXC13) or w.ends(*_ENDS13):
        w.n += 2


def _rule14(w: _Word) -> None:
    if w.n > 5 and w.ends("ουσεσ"):
        w.n -= 5
    elif w.n > 4 and w.ends("ουσα", "ουσε"):
        w.n -= 4
    else:
        return
    if w.is_(_EXC14) or w.vowel_end() or w.ends(*_ENDS14):
        w.n += 3


def _rule15(w: _Word) -> None:
    if w.n > 4 and w.ends("αγεσ"):
        w.n -= 4
    elif w.n > 3 and w.ends("αγα", "αγε"):
        w.n -= 3
    else:
        return
    first = w.is_(_EXC15A) or w.ends(*_ENDS15A)
    second = w.is_(_EXC15B) or w.ends("κολλ")
    if first and not second:
        w.n += 2


def _cut_then(w: _Word, groups, exceptions: frozenset[str], back: int = 0, write: str = "") -> None:
    for limit, suffixes in groups:
        if w.n > limit and w.ends(*suffixes):
            w.n -= len(suffixes[0])
            if w.is_(exceptions):
                if write:
                    w.put(write)
                else:
                    w.n += back
            return


def _rule20(w: _Word) -> None:
    if w.n > 5 and w.ends("ματων", "ματοσ"):
        w.n -= 3
    elif w.n > 4 and w.ends("ματα"):
        w.n -= 2


# rule 21, the long list: (minimum length exclusive, suffixes), the first that matches is cut
_RULE21 = [
    (9, "ιοντουσαν"),
    (8, "ιομασταν ιοσασταν ιουμαστε οντουσαν"),
    (7, "ιεμαστε ιεσαστε ιομουνα ιοσαστε ιοσουνα ιουνται ιουνταν ηθηκατε ομασταν οσασταν ουμαστε"),
    (6, "ιομουν ιονταν ιοσουν ηθειτε ηθηκαν ομουνα οσαστε οσουνα ουνται ουνταν ουσατε"),
    (5, "αγατε ιεμαι ιεται ιεσαι ιοταν ιουμα ηθεισ ηθουν ηκατε ησατε ησουν ομουν ονται ονταν οσουν ουμαι ουσαν"),
    (4, "αγαν αμαι ασαι αται ειτε εσαι εται ηδεσ ηδων ηθει ηκαν ησαν ησει ησεσ ομαι οταν"),
    (3, "αει εισ ηθω ησω ουν ουσ"),
    (2, "αν ασ αω ει εσ ησ οι οσ ου υσ ων"),
]


def _rule21(w: _Word) -> None:
    for limit, suffixes in _RULE21:
        if w.n > limit and w.ends(*suffixes.split()):
            w.n -= limit
            return
    if w.n > 1 and w.vowel_end():
        w.n -= 1


def _rule22(w: _Word) -> None:
    if w.ends("εστερ", "εστατ"):
        w.n -= 5
    elif w.ends("οτερ", "οτατ", "υτερ", "υτατ", "ωτερ", "ωτατ"):
        w.n -= 4


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem of a term folded by GreekLowerCaseFilter, as Lucene's GreekStemmer gives it."""
    if len(word) < 4:
        return word
    w = _Word(word)
    original = w.n
    _rule0(w)
    _restore_unless(w, "αδεσ αδων", 4, 2, "οκ μαμ μαν μπαμπ πατερ γιαγι νταντ κυρ θει πεθερ", negate=True)
    _restore_unless(w, "εδεσ εδων", 4, 2, "οπ ιπ εμπ υπ γηπ δαπ κρασπ μιλ", negate=False)
    _restore_unless(w, "ουδεσ ουδων", 5, 3, "αρκ καλιακ πεταλ λιχ πλεξ σκ σ φλ φρ βελ λουλ χν σπ τραγ φε", negate=False)
    _rule4(w)
    _rule5(w)
    _rule6(w)
    _rule7(w)
    _rule8(w)
    _rule9(w)
    _rule10(w)
    _rule11(w)
    _rule12(w)
    _rule13(w)
    _rule14(w)
    _rule15(w)
    _cut_then(w, [(4, ("ησου",)), (3, ("ησε", "ησα"))], _EXC16, back=2)
    if w.n > 4 and w.ends("ηστε"):
        w.n -= 4
        if w.is_(_EXC17):
            w.n += 3
    _cut_then(w, [(6, ("ησουνε", "ηθουνε")), (4, ("ουνε",))], _EXC18, write="ουν")
    _cut_then(w, [(6, ("ησουμε", "ηθουμε")), (4, ("ουμε",))], _EXC19, write="ουμ")
    _rule20(w)
    if w.n == original:
        _rule21(w)
    _rule22(w)
    return w.stem()


def lower_and_stem(word: str) -> str:
    return stem(lower(word))
