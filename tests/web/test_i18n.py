"""Every message of the pages is translated into Azerbaijani and Russian."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from shafa.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, choose_language, translations

ROOT = Path(__file__).resolve().parents[2]


def _messages_in_the_code() -> set[str]:
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = extract_from_dir(ROOT / "src/shafa", method_map, options_map)
    return {message for _file, _line, message, _comments, _context in found if message}


def test_the_code_uses_messages() -> None:
    assert {"Sign in", "Username", "Page not found"} <= _messages_in_the_code()


@pytest.mark.parametrize("language", ["az", "ru"])
def test_every_message_is_translated(language: str) -> None:
    catalog = translations(language)
    missing = {
        message for message in _messages_in_the_code() if catalog.gettext(message) == message
    }
    assert not missing, f"untranslated in {language}: {sorted(missing)}"


def test_english_is_the_messages_themselves() -> None:
    assert translations("en").gettext("Sign in") == "Sign in"


def test_the_language_is_the_asked_then_the_remembered_then_azerbaijani() -> None:
    assert DEFAULT_LANGUAGE == "az" and set(LANGUAGES) == {"az", "en", "ru"}
    assert choose_language("ru", "en") == "ru"
    assert choose_language(None, "en") == "en"
    assert choose_language("xx", "yy") == "az"
    assert choose_language(None, None) == "az"
