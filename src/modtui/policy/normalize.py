"""Text normalisation for policy matching.

``normalize(text)`` folds the usual evasion tricks away so that policy terms and patterns
can be written once, in plain lower-case Latin.  The steps, in order:

1. **Unicode compatibility** (non-ASCII text only): NFKC, which maps fullwidth letters
   (``ｆｒｅｅ``), mathematical alphanumerics (``𝐟𝐫𝐞𝐞``), circled/superscript letters,
   ligatures and non-breaking spaces to plain characters.
2. **Invisible characters** are removed: zero-width space/non-joiner, word joiner, BOM,
   soft hyphen, bidi controls, Mongolian vowel separator.  The zero-width *joiner* is
   removed next to letters/digits but kept between emoji (``👨‍👩‍👧`` stays one emoji).
   Typographic quotes and dashes are straightened (``’ ‘ ʼ`` → ``'``, ``“ ” „ « »`` → ``"``,
   ``‐ – — ― −`` → ``-``), so patterns need only the ASCII forms.
3. **Case**: ``casefold()`` (so ``ß`` → ``ss``).
4. **Combining marks** on Latin/Greek/Cyrillic letters (accents, zalgo, strike-through
   overlays) are stripped: ``café`` → ``cafe``, ``f̶r̶e̶e̶`` → ``free``.  Marks on other
   scripts (Devanagari vowel signs, Arabic harakat...) are kept; variation selectors
   (U+FE0E/U+FE0F) are always dropped, so ``❤️`` and ``❤`` are the same.
5. **Look-alikes**: Latin small capitals and letter variants (``ᴀ ɑ ı ƒ ø ł``...) always fold
   to ASCII.  Cyrillic/Greek look-alikes (``а е о р с у х і ѕ ο ρ α ν``...) fold to Latin in
   a word that mixes them with Latin letters (``раypal``), or in a word made only of
   look-alikes when the text is mostly Latin (``сосо`` inside an English sentence).
   Genuine Cyrillic/Greek text is left alone.
6. **Spaced-out letters**: three or more single characters separated by exactly one space,
   dot, dash or asterisk are joined: ``f r e e  m o n e y`` → ``free money`` (the double
   space still separates the words), ``c-a-s-h`` → ``cash``, ``f.r.e.e`` → ``free``.  A run
   must contain at least one letter, so ``1 2 3`` stays.  Emoji or other symbols *between*
   letters (``a🚀i🚀r🚀d🚀r🚀o🚀p``) and split words (``tele gram``) are deliberately not
   undone: that would glue ordinary text together.  Write a pattern for those.
7. **Leetspeak inside words**: ``0→o 1→i 3→e 4→a 5→s 7→t`` and ``@→a $→s |→i !→i``, but only
   in a token that has at least two letters and whose digits are all leet digits.  The
   symbols are converted only strictly inside a token (``ca$h!`` → ``cash!``).  Numbers and
   quantities survive: ``$50``, ``24 hours``, ``2026``, ``24h``, ``100mg``, ``3pm``, ``5th``;
   ``US$50``; letters ending in one digit (``mp3``, ``ps5``, ``gpt4`` — so ``lov3`` stays too);
   e-mail addresses, URLs and ``@handles`` are left verbatim.  Known casualties: ``win10`` →
   ``winio``, ``4ever`` → ``aever`` (``1`` always becomes ``i``, never ``l``).
8. **Stretched letters**: a run of three or more of the same letter is squeezed to *one*:
   ``loooove`` → ``love``, ``yesssss`` → ``yes``, but ``freeeee`` → ``fre`` and ``killll`` →
   ``kil`` (a run cannot tell which letters were doubled to begin with).  Runs of two are
   kept (``free``, ``good``).  Digits, punctuation and emoji are never squeezed.  To make up
   for it, policy *terms* match a doubled letter as one or two (the term ``free`` matches
   ``free`` and ``fre``; ``kill`` matches ``kil``); hand-written *patterns* should do the same
   (``fre{1,2}``, ``kil{1,2}``).
9. **Whitespace** runs collapse to one space; leading/trailing space is stripped.

Emoji and other symbols are kept, so rules may match them.  Pure-ASCII text skips steps 1–5.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["normalize", "LEET_MAP"]

# -- step 2: invisible characters -------------------------------------------------------

_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u200c\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u034f\ufe0e\ufe0f",
    ),
    None,
)
_ZWJ_NEAR_WORD = re.compile(r"(?<=\w)\u200d|\u200d(?=\w)")

# -- step 5: look-alikes ----------------------------------------------------------------

# Latin letter variants: always folded.
_LATIN_VARIANTS = str.maketrans(
    {
        "ı": "i",
        "ɩ": "i",
        "ɪ": "i",
        "ɑ": "a",
        "ɐ": "a",
        "ƅ": "b",
        "ɓ": "b",
        "ƈ": "c",
        "ɗ": "d",
        "đ": "d",
        "ɛ": "e",
        "ǝ": "e",
        "ƒ": "f",
        "ɡ": "g",
        "ɢ": "g",
        "ħ": "h",
        "ʜ": "h",
        "ȷ": "j",
        "ᴊ": "j",
        "ĸ": "k",
        "ł": "l",
        "ʟ": "l",
        "ɴ": "n",
        "ŋ": "n",
        "ø": "o",
        "ɵ": "o",
        "ᴏ": "o",
        "ƥ": "p",
        "ʀ": "r",
        "ꜱ": "s",
        "ʂ": "s",
        "ƭ": "t",
        "ʋ": "v",
        "ᴠ": "v",
        "ᴡ": "w",
        "ʏ": "y",
        "ƴ": "y",
        "ᴢ": "z",
        "ƶ": "z",
        "ᴀ": "a",
        "ʙ": "b",
        "ᴄ": "c",
        "ᴅ": "d",
        "ᴇ": "e",
        "ᴋ": "k",
        "ᴍ": "m",
        "ᴘ": "p",
        "ᴛ": "t",
        "ᴜ": "u",
        "æ": "ae",
        "œ": "oe",
    }
)

# Cyrillic and Greek letters that look like Latin ones (lower case: applied after casefold).
_CYR_GREEK_MAP = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "г": "r",
    "ԁ": "d",
    "һ": "h",
    "н": "h",
    "і": "i",
    "ї": "i",
    "ӏ": "l",
    "ј": "j",
    "к": "k",
    "м": "m",
    "о": "o",
    "п": "n",
    "р": "p",
    "ԛ": "q",
    "с": "c",
    "ѕ": "s",
    "т": "t",
    "у": "y",
    "ү": "y",
    "х": "x",
    "ԝ": "w",
    "ь": "b",
    "ѡ": "w",
    "ɜ": "e",
    # Greek
    "α": "a",
    "β": "b",
    "γ": "y",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "μ": "u",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "ς": "s",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "ϲ": "c",
    "ϳ": "j",
    "ϱ": "p",
}
_CYR_GREEK = str.maketrans(_CYR_GREEK_MAP)
_CYR_GREEK_CHARS = frozenset(_CYR_GREEK_MAP)
_HAS_CYR_GREEK = re.compile(r"[\u0370-\u03ff\u0400-\u052f]")
_LATIN_LETTER = re.compile(r"[a-z]")
_CYR_GREEK_WORD = re.compile(r"[^\W_]*[\u0370-\u03ff\u0400-\u052f][^\W_]*")

# -- steps 6-8 ---------------------------------------------------------------------------

# A "character" of a spaced-out word: a letter/digit, or a symbol leetspeak uses.
_SPACED = r"(?<![^\W_@$'’])(?:[^\W_]|[@$])(?:[ .*\-](?:[^\W_]|[@$])){2,}(?![^\W_@$'’])"
_SPACED_SEP = re.compile(r"[ .*\-]")
# what every spaced-out run contains, without the look-arounds: most texts fail this cheaper scan
_SPACED_HINT = r"(?:[^\W_]|[@$])[ .*\-](?:[^\W_]|[@$])[ .*\-](?:[^\W_]|[@$])"
_HAS_LETTER = re.compile(r"[^\W\d_]")

#: Leetspeak characters and the letters they stand for.
LEET_MAP = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "@": "a",
    "$": "s",
    "|": "i",
    "!": "i",
}
_LEET = str.maketrans(LEET_MAP)
_LEET_SYMBOLS = "@$|!"
# A leet character used as a letter: a leet digit touching a letter, or a leet symbol
# between two letters/digits.  Used as a quick pre-check and as the core of a token.
_LEET_CORE = r"(?:[^\W\d_][013457]|[013457][^\W\d_]|[^\W_][@$|!]+[^\W_])"
_TOKEN_CHAR = r"(?:[^\W_]|[@$|!])"
_LEET_CHAR = re.compile(r"[013457@$|!]")  # a one-class scan first: most texts have none
_LEET_WORD = rf"(?<![^\W_@$|!]){_TOKEN_CHAR}*?{_LEET_CORE}{_TOKEN_CHAR}*"
_LEET_TOKEN = rf"(?P<keep>(?!))|{_LEET_WORD}"
# Variant for text that may hold e-mail addresses, URLs or @handles: those stay verbatim.
_LEET_TOKEN_KEEP = (
    r"(?P<keep>[^\s@]+@[^\s@]+\.[^\W\d_]{2,}|(?:https?://|www\.)\S+|(?<![\w@])@\w+)"
    rf"|{_LEET_WORD}"
)
_ORDINAL_OR_QUANTITY = re.compile(
    r"\d+(?:st|nd|rd|th)"  # 5th, 21st
    r"|\d{2,}[^\W\d_]+"  # 100mg, 24hrs, 2026edition
    r"|\d[^\W\d_]{1,3}"  # 3pm, 5km, 4th
    r"|[^\W\d_]{1,3}\$\d[\d.,]*"  # US$50, C$20
    r"|[^\W\d_]{2,}\d"  # a model or version: mp3, ps5, gpt4, win7
)
_NON_LEET_DIGIT = re.compile(r"[2689]")

_STRETCH = r"([^\W\d_])\1{2,}"
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)


# What a character class means on ASCII text, spelled with ASCII ranges: Python's re tests `[^\W\d_]` through
# Unicode categories, several times slower than `[A-Za-z]`, and ASCII text is most text. Each class below means
# the same on ASCII characters (tests/test_policy.py checks the two sets of regexes agree on random ASCII text).
_ASCII_CLASSES = (
    ("[^\\W_@$'’]", "[0-9A-Za-z]"),  # a word character other than _ (@ $ ' ’ are not word characters)
    ("[^\\W_@$|!]", "[0-9A-Za-z]"),
    ("[^\\W\\d_]", "[A-Za-z]"),
    ("[^\\W_]", "[0-9A-Za-z]"),
)


def _ascii_classes(source: str) -> str:
    for unicode_class, ascii_class in _ASCII_CLASSES:
        source = source.replace(unicode_class, ascii_class)
    return source


@dataclass(frozen=True, slots=True)
class _Folds:
    """The regexes of steps 6-8, compiled for any text or (with ASCII classes) for ASCII text."""

    spaced_hint: re.Pattern[str]
    spaced: re.Pattern[str]
    leet_near_letter: re.Pattern[str]
    leet_token: re.Pattern[str]
    leet_token_keep: re.Pattern[str]
    stretch: re.Pattern[str]

    @classmethod
    def compile(cls, ascii_text: bool) -> _Folds:
        spell = _ascii_classes if ascii_text else str
        sources = (_SPACED_HINT, _SPACED, _LEET_CORE, _LEET_TOKEN, _LEET_TOKEN_KEEP, _STRETCH)
        return cls(*(re.compile(spell(source)) for source in sources))


_UNICODE_FOLDS = _Folds.compile(ascii_text=False)
_ASCII_FOLDS = _Folds.compile(ascii_text=True)
_INVISIBLE_CHAR = re.compile("[" + "".join(map(chr, _INVISIBLE)) + "]")
_TYPOGRAPHY_CHAR = re.compile("[" + "".join(map(chr, _TYPOGRAPHY)) + "]")
_LATIN_VARIANT_CHAR = re.compile("[" + "".join(map(chr, _LATIN_VARIANTS)) + "]")

_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_HAS_MARK = re.compile(f"[{_MARKS}]")
# a Latin/Greek/Cyrillic (or ASCII) base followed by combining marks; or marks with no base
_MARKS_ON_LATIN = re.compile(f"([\\x00-\u052f\u1d00-\u1fff\u2c60-\u2c7f])[{_MARKS}]+|^[{_MARKS}]+")


def _strip_marks(text: str) -> str:
    """Drop combining marks attached to Latin/Greek/Cyrillic (or ASCII) bases."""
    decomposed = unicodedata.normalize("NFD", text)
    if not _HAS_MARK.search(decomposed):
        return text
    return unicodedata.normalize("NFC", _MARKS_ON_LATIN.sub(r"\1", decomposed))


def _fold_lookalikes(text: str) -> str:
    if _LATIN_VARIANT_CHAR.search(text):
        text = text.translate(_LATIN_VARIANTS)
    if not _HAS_CYR_GREEK.search(text):
        return text
    mostly_latin: list[bool] = []  # computed on first need

    def fold(m: re.Match[str]) -> str:
        word = m.group(0)
        if _LATIN_LETTER.search(word):
            return word.translate(_CYR_GREEK)
        if all(c in _CYR_GREEK_CHARS for c in word if c.isalpha()):
            if not mostly_latin:
                latin = len(_LATIN_LETTER.findall(text))
                mostly_latin.append(latin > len(_HAS_CYR_GREEK.findall(text)))
            if mostly_latin[0]:
                return word.translate(_CYR_GREEK)
        return word

    return _CYR_GREEK_WORD.sub(fold, text)


def _join_spaced(m: re.Match[str]) -> str:
    run = m.group(0)
    if not _HAS_LETTER.search(run):
        return run
    return _SPACED_SEP.sub("", run)


def _unleet(m: re.Match[str]) -> str:
    token = m.group(0)
    if m.group("keep"):
        return token
    letters = sum(1 for c in token if c.isalpha())
    if letters < 2:
        return token
    if _NON_LEET_DIGIT.search(token) or _ORDINAL_OR_QUANTITY.fullmatch(token):
        return token
    # symbols at the edges are punctuation ("wow!", "$ale"), not letters
    start, end = 0, len(token)
    while start < end and token[start] in _LEET_SYMBOLS:
        start += 1
    while end > start and token[end - 1] in _LEET_SYMBOLS:
        end -= 1
    return token[:start] + token[start:end].translate(_LEET) + token[end:]


def normalize(text: str) -> str:
    """Fold ``text`` into the canonical form policy terms and patterns are matched on."""
    if not text:
        return ""
    if text.isascii():
        return _fold_words(text.lower(), _ASCII_FOLDS)
    text = unicodedata.normalize("NFKC", text)
    if _INVISIBLE_CHAR.search(text):  # a scan for one class first: str.translate looks every character up
        text = text.translate(_INVISIBLE)
    if _TYPOGRAPHY_CHAR.search(text):
        text = text.translate(_TYPOGRAPHY)
    if "\u200d" in text:
        text = _ZWJ_NEAR_WORD.sub("", text)
    text = _fold_lookalikes(_strip_marks(text.casefold()))
    return _fold_words(text, _ASCII_FOLDS if text.isascii() else _UNICODE_FOLDS)


def _fold_words(text: str, folds: _Folds) -> str:
    """Steps 6-9 (spaced letters, leetspeak, stretched letters, whitespace) with `folds`' regexes."""
    if folds.spaced_hint.search(text):
        text = folds.spaced.sub(_join_spaced, text)
    if _LEET_CHAR.search(text) and folds.leet_near_letter.search(text):
        if "@" in text or "://" in text or "www." in text:
            text = folds.leet_token_keep.sub(_unleet, text)
        else:
            text = folds.leet_token.sub(_unleet, text)
    if folds.stretch.search(text):
        text = folds.stretch.sub(r"\1", text)
    return " ".join(text.split())  # str.split() splits on exactly the characters \s matches
