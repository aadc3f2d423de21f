# Azerbaijani and Russian letters are this module's subject.
# ruff: noqa: RUF001, RUF002, RUF003
"""Names the way people here type them: one folding key for the spellings of a name.

A citizen named Əliyev is written Aliyev in a passport, Eliyev by someone without the ə key,
Алиев in a Soviet-era record and Aliev in a Russian transliteration of it; Hüseynov is Гусейнов
and Guseynov, Məmmədov is Мамедов. A search must find the person whichever was typed. Every
spelling is reduced to one folding key, and a search matches keys by prefix, as FHIR string
search matches text (R4 search.html#string: starts with, case and accents aside).

How a word becomes a key:
1. Cyrillic letters, Russian and Azerbaijani (the 1958-1991 alphabet: ә ғ һ ј ҹ ү ө ҝ),
   become Latin ones. е ё ю я say "y" plus the vowel at the start of a word and after a vowel
   (Russian orthography: Елена, Агаев), else the vowel alone (Гусейнов, Гюльнара).
2. Accents go (ş ç ğ ö ü become s c g o u); the spellings of other alphabets' letters come
   together: sh and щ as s; ch, zh, dzh, dj as c (ç, c and j: Çingiz, Cəfərov / Джафаров /
   Jafarov, Jalə / Жаля); kh and gh as velars (below).
3. A y between a vowel and e is dropped, as Russian spelling drops it: Ağayev is Агаев,
   Aliyev is Алиев and Aliev.
4. A complete word's -ov/-ova is read as -ev/-eva: Russian writes -ев after the
   consonants it softens (Orucov / Оруджев).
5. Letters that spellings exchange fall into one class: ə a e; i ı y; and the velars and the
   glottal h, x g ğ q k, which Russian renders with г, х and к (Hüseynov / Гусейнов,
   Qasımov / Гасымов, Qurbanov / Курбанов, Xəlilov / Халилов); w is v.
6. Doubled letters are written once (Məmmədov / Мамедов) and separators go, so "Əli Heydər"
   and "Əli-Heydər" are the same key.

The key is deliberately loose: it finds too many rather than miss the person, and the person
is then told apart by FIN, birth date and address. Where it is still wrong: a real s+h or
z+h inside a name (İshaq, Məzhər) reads as ş or j; a word that starts with Ye (Yelena, Елена)
is kept apart from one that starts with E (Elena); Russian renderings that change a consonant
or a vowel outside the endings (Mehdiyev / Мехтиев, Məhəmməd / Магомед) are other names to it.
"""

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

# Russian letters, and those the Azerbaijani Cyrillic alphabet added, in Latin letters that
# step 2 then treats like the Azerbaijani Latin ones.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "u", "ф": "f", "х": "x", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ы": "ı", "ь": "", "э": "e",
    "ә": "ə", "ғ": "ğ", "һ": "h", "ј": "y", "ҹ": "c", "ү": "ü", "ө": "ö", "ҝ": "g", "қ": "q",
    "і": "i", "ї": "yi", "є": "ye", "ў": "w", "ґ": "g",
}  # fmt: skip
# The vowels that say y before them at the start of a word or after a vowel, and without it.
_IOTATED = {"е": "e", "ё": "o", "ю": "u", "я": "a"}
_VOWELS = frozenset("aeəiıouöüаеёиоуыэюяәөүіїє")
_SEPARATORS = frozenset("ъь")  # Russian's signs: after them, е ё ю я say y too

# Spellings of one sound in other alphabets' Latin, longest first.
_DIGRAPHS = re.compile(r"shch|dzh|dj|zh|ch|sh|kh|gh")
_DIGRAPH_LETTERS = {"shch": "s", "dzh": "c", "dj": "c", "zh": "c", "ch": "c", "sh": "s"}
_DIGRAPH_LETTERS |= {"kh": "x", "gh": "g"}
_GLIDE = re.compile(r"(?<=[aeəiıou])y(?=[eə])")
_SURNAME_ENDING = re.compile(r"o(va?)$")
# The classes of step 5; any other letter or digit stands for itself, anything else goes.
_CLASSES = str.maketrans(
    {"e": "a", "ə": "a", "ı": "i", "y": "i", "x": "k", "g": "k", "q": "k", "h": "k", "j": "c"}
    | {"w": "v"}
)
_KEPT = re.compile(r"[^a-z0-9]")
_RUNS = re.compile(r"(.)\1+")


def _latin(word: str) -> str:
    """A lower-case word with its Cyrillic letters in Latin ones (step 1)."""
    if word.isascii():
        return word
    out = []
    previous = ""
    for char in word:
        if char in _IOTATED:
            iotated = not previous or previous in _VOWELS or previous in _SEPARATORS
            out.append(("y" if iotated else "") + _IOTATED[char])
        else:
            out.append(_CYRILLIC.get(char, char))
        previous = char
    return "".join(out)


def _without_accents(text: str) -> str:
    # NFKD splits ş, ö, İ... into a letter and combining marks; ə and ı have none and stay.
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _fold_word(word: str, *, complete: bool) -> str:
    """Steps 1 to 5 for one lower-case word; the ending rule only if the word is complete."""
    latin = _without_accents(_latin(word))
    latin = _DIGRAPHS.sub(lambda found: _DIGRAPH_LETTERS[found.group()], latin)
    latin = _GLIDE.sub("", latin)
    if complete:
        latin = _SURNAME_ENDING.sub(r"a\1", latin)
    return _KEPT.sub("", latin.translate(_CLASSES))


def _words(text: str) -> list[str]:
    return re.split(r"[\s\-'’ʼ.,]+", text.lower().strip(" \t\n\r-'’ʼ.,"))


def _joined(parts: Sequence[str]) -> str:
    return _RUNS.sub(r"\1", "".join(parts))


# Names repeat (a country's surnames and given names are a few thousand), and each is folded
# for several parameters of every Patient written: remembered, a fold is a dictionary lookup.
@lru_cache(maxsize=65536)
def fold_name(text: str) -> str:
    """The folding key of a name as stored: every word complete."""
    return _joined([_fold_word(word, complete=True) for word in _words(text) if word])


@lru_cache(maxsize=4096)
def search_keys(text: str) -> tuple[str, ...]:
    """The folding keys a typed name matches by prefix.

    The last word may be cut short by the typist, so it is folded both as complete and as
    begun: "huseynov" (complete, -ev) and "Гусейно" (begun: the o could be the start of -ov,
    so an a is tried there too); "Ağay" without its y, which the next letter may drop; "Гад"
    and "Orudz" with a c, which дж and dzh are.
    """
    words = [word for word in _words(text) if word]
    if not words:
        return ()
    head = [_fold_word(word, complete=True) for word in words[:-1]]
    last = words[-1]
    endings = {_fold_word(last, complete=True), _fold_word(last, complete=False)}
    begun = _fold_word(last, complete=False)
    if begun.endswith("o"):
        endings.add(begun[:-1] + "a")
    for cut in ("dz", "d"):  # the start of дж/dzh, which is c
        if begun.endswith(cut):
            endings.add(begun[: -len(cut)] + "c")
            break
    latin = _without_accents(_latin(last))
    if len(latin) > 1 and latin.endswith("y") and latin[-2] in "aeəiıou":
        endings.add(_fold_word(last[:-1], complete=False))
    keys = {_joined([*head, ending]) for ending in endings}
    return tuple(sorted(key for key in keys if key))
