"""The languages of the pages: Azerbaijani (the default), English and Russian.

Messages are English msgids in Babel catalogues (translations/<lang>/LC_MESSAGES/messages.po),
compiled in memory when first used, so the package ships only the .po sources. Update them with
`pybabel extract -F babel.cfg -o messages.pot src/shafa/web` then `pybabel update`.
"""

from functools import cache
from importlib import resources
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = {"az": "Azərbaycanca", "en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "az"
LANGUAGE_COOKIE = "shafa_lang"


@cache
def translations(language: str) -> Translations:
    """The compiled catalogue of one of LANGUAGES."""
    source = resources.files("shafa.web").joinpath(
        f"translations/{language}/LC_MESSAGES/messages.po"
    )
    with source.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def choose_language(query: str | None, cookie: str | None) -> str:
    """The language asked for in the query, else the one remembered, else Azerbaijani."""
    for asked in (query, cookie):
        if asked in LANGUAGES:
            return asked
    return DEFAULT_LANGUAGE
