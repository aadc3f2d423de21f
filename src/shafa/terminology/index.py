# ruff: noqa: RUF001, RUF002 (Azerbaijani letters: dotless i)
"""Type-ahead search over a code system's concepts: the index $expand's `filter` runs on.

Pure: no I/O. What a filter matches (what users of a diagnosis or address picker expect, as
Ontoserver and HAPI FHIR's terminology service behave):

- the filter is split into words; every word must match, in any order;
- a word matches a concept when it begins one of the words of the concept's display or of any
  designation (`diab mell` finds "Type 2 diabetes mellitus"), or begins its code (`j45`, `J45.`
  and `J450` all find J45.0: codes compare without dots);
- case and accents are ignored: `gence` finds "Gəncə", `baki` finds "Bakı", `sumgait` the English
  "Sumgait", and Cyrillic matches Cyrillic (`баку`).

Matches are ranked: the code itself first, then codes beginning with the filter (shorter codes
first, then in code order: J45 before J45.0 before J45.9), then concepts whose name begins with
the filter, then the rest; within these two, shorter names first, then alphabetically, then by
code.

The index keeps every distinct word and every code, sorted, so a prefix is a bisected range;
each word maps to the numbers of the concepts that use it. A query intersects one set per word,
smallest first, and only sorts the page it returns.
"""

import heapq
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Collection, Sequence
from functools import lru_cache

from shafa.terminology.model import Concept

# Letters NFKD does not take apart: Azerbaijani schwa and dotless i, and a few Latin ones.
_FOLD = str.maketrans({"ə": "e", "ı": "i", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d"})
_WORD = re.compile(r"[^\W_]+")
MAX_FILTER = 200  # characters; a longer filter is a 400, not a slow request
MAX_WORDS = 8


def fold(text: str) -> str:
    """Lower case without accents: 'Gəncə' -> 'gence', 'Şəki' -> 'seki', 'İsmayıllı' ->
    'ismayilli', 'Ёлка' -> 'елка'."""
    lowered = text.casefold().translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The folded words of a text: runs of letters and digits (anything else separates them)."""
    return _WORD.findall(fold(text))


def code_key(code: str) -> str:
    """A code as a filter compares it: folded, without dots and spaces ('J45.0' -> 'j450')."""
    return fold(code).replace(".", "").replace(" ", "")


class _Prefixes:
    """Sorted words, each with the concepts that have it: a prefix is a bisected range, and
    the union over a prefix is kept (type-ahead asks the same prefixes again and again)."""

    def __init__(self, postings: dict[str, set[int]]) -> None:
        self.words = sorted(postings)
        self.postings = [frozenset(postings[word]) for word in self.words]
        self.union = lru_cache(maxsize=4096)(self._union)

    def _union(self, prefix: str) -> frozenset[int]:
        start = bisect_left(self.words, prefix)
        end = bisect_left(self.words, prefix + "\U0010ffff", start)
        if end - start == 1:
            return self.postings[start]
        found: set[int] = set()
        for position in range(start, end):
            found |= self.postings[position]
        return frozenset(found)


class TypeAheadIndex:
    """Prefix search over the names and codes of concepts (given in depth-first order).

    Concepts are numbered by their position; all set work is on those numbers, in C (set
    intersections), and only the page returned is ranked one by one.
    """

    def __init__(self, concepts: Sequence[Concept]) -> None:
        self.concepts = concepts
        every_word: dict[str, set[int]] = {}
        first_word: dict[str, set[int]] = {}
        self._names: list[tuple[str, ...]] = []  # folded display and designations
        for number, concept in enumerate(concepts):
            folded = tuple(fold(name) for name in concept.names())
            self._names.append(folded)
            for name in folded:
                found = _WORD.findall(name)
                for word in found:
                    every_word.setdefault(word, set()).add(number)
                if found:
                    first_word.setdefault(found[0], set()).add(number)
        self._words = _Prefixes(every_word)
        self._first_words = _Prefixes(first_word)  # names that begin with a prefix
        keys = [code_key(concept.code) for concept in concepts]
        self._code_length = [len(key) for key in keys]
        keyed = sorted(zip(keys, range(len(concepts)), strict=True))
        self._codes = [key for key, _ in keyed]
        self._code_numbers = [number for _, number in keyed]
        # Within the name ranks: shorter display first, then alphabetical, then by code.
        by_name = sorted(
            range(len(concepts)),
            key=lambda n: (len(concepts[n].display), self._names[n][0], concepts[n].code),
        )
        self._name_order = [0] * len(concepts)
        for position, number in enumerate(by_name):
            self._name_order[number] = position

    def _code_prefix(self, prefix: str) -> list[int]:
        start = bisect_left(self._codes, prefix)
        end = bisect_left(self._codes, prefix + "\U0010ffff", start)
        return self._code_numbers[start:end]

    def _matches(self, query_words: list[str], code_query: str) -> set[int]:
        """Concepts every word matches (a word may match a name's word or the code)."""
        per_word: list[set[int] | frozenset[int]] = []
        for word in query_words:
            codes = self._code_prefix(word)
            named = self._words.union(word)
            per_word.append(named.union(codes) if codes else named)
        per_word.sort(key=len)
        found = set(per_word[0]) if per_word else set()
        for more in per_word[1:]:
            found &= more
            if not found:
                break
        if code_query and len(query_words) > 1:
            found.update(self._code_prefix(code_query))  # 'J45.0' typed with its dot
        return found

    def search(
        self,
        text: str,
        *,
        members: Collection[int] | None = None,
        offset: int = 0,
        count: int | None = None,
    ) -> tuple[int, list[Concept]]:
        """(total matches, the page of ranked concepts) for a filter, among members only
        (a set of concept numbers, or a range of them)."""
        query_words = words(text)[:MAX_WORDS]
        code_query = code_key(text)
        if not query_words:
            return 0, []
        found = self._matches(query_words, code_query)
        if isinstance(members, (set, frozenset)):
            found &= members
        elif members is not None:
            found = {number for number in found if number in members}
        total = len(found)
        wanted = total if count is None else min(total, offset + count)
        if wanted <= offset:
            return total, []
        ranked = self._ranked(found, query_words, code_query, wanted)
        return total, [self.concepts[number] for number in ranked[offset:wanted]]

    def _ranked(
        self, found: set[int], query_words: list[str], code_query: str, wanted: int
    ) -> list[int]:
        """The first `wanted` matches in rank order (see the module docstring)."""
        by_name = self._name_order.__getitem__
        coded = [number for number in self._code_prefix(code_query) if number in found]
        coded.sort(key=lambda number: (self._code_length[number], number))  # exact code first
        ranked = coded
        rest = found.difference(coded)
        if len(ranked) >= wanted or not rest:
            return ranked
        phrase = " ".join(query_words)
        beginning: set[int] | frozenset[int] = self._first_words.union(query_words[0]) & rest
        if len(query_words) > 1:
            beginning = {
                number
                for number in beginning
                if any(name.startswith(phrase) for name in self._names[number])
            }
        for tier in (beginning, rest - beginning):
            room = wanted - len(ranked)
            if room <= 0:
                break
            if len(tier) > room:
                ranked += heapq.nsmallest(room, tier, key=by_name)
            else:
                ranked += sorted(tier, key=by_name)
        return ranked
