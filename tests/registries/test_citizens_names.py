"""The folding key of names, as a pure function: real names and the ways people write them."""

# Azerbaijani and Russian letters are the subject.
# ruff: noqa: RUF001

import pytest

from shafa.registries.citizens.names import fold_name, search_keys
from shafa.synthetic.clinical import FEMALE_NAMES, MALE_NAMES, SURNAMES

# Each name as the population register writes it (Azerbaijani Latin), and how else it is
# written: passports and ASCII keyboards, Russian records in Cyrillic, their transliterations.
SPELLINGS = {
    "Əliyev": ["Aliyev", "Eliyev", "Aliev", "Алиев", "Əliev", "ALIYEV"],
    "Əliyeva": ["Aliyeva", "Алиева", "Alieva"],
    "Hüseynov": ["Huseynov", "Guseynov", "Гусейнов", "Huseinov", "Guseinov", "HÜSEYNOV"],
    "Hüseynova": ["Гусейнова", "Huseynova"],
    "Məmmədov": ["Mammadov", "Mamedov", "Мамедов", "Mammedov", "Мамадов"],
    "Məmmədova": ["Мамедова", "Mammadova"],
    "Həsənov": ["Hasanov", "Gasanov", "Гасанов", "Həsenov"],
    "Quliyev": ["Guliyev", "Kuliev", "Кулиев", "Guliev"],
    "İsmayılov": ["Ismayilov", "Ismailov", "Исмаилов", "Ismayılov"],
    "Abdullayev": ["Abdullaev", "Абдуллаев", "Abdulayev"],
    "Rzayev": ["Rzaev", "Рзаев"],
    "Kərimov": ["Karimov", "Kerimov", "Керимов"],
    "Nəsirov": ["Nasirov", "Насиров"],
    "Orucov": ["Orujov", "Orudzhev", "Оруджев", "Оруджов"],
    "Süleymanov": ["Suleymanov", "Сулейманов", "Suleimanov"],
    "Cəfərov": ["Jafarov", "Cafarov", "Dzhafarov", "Djafarov", "Джафаров"],
    "Əhmədov": ["Ahmadov", "Akhmedov", "Ахмедов", "Ahmedov"],
    "Bağırov": ["Bagirov", "Baghirov", "Багиров"],
    "Qasımov": ["Gasimov", "Kasimov", "Гасымов", "Qasimov"],
    "Mustafayev": ["Mustafaev", "Мустафаев"],
    "Vəliyev": ["Valiyev", "Veliev", "Велиев"],
    "Zeynalov": ["Зейналов", "Zeinalov"],
    "Səfərov": ["Safarov", "Сафаров"],
    "Həsənli": ["Hasanli", "Гасанлы", "Гасанли"],
    "Əlizadə": ["Alizade", "Ализаде", "Alizada"],
    "Məmmədli": ["Mammadli", "Мамедли"],
    "Nağıyev": ["Nagiyev", "Нагиев", "Nagiev"],
    "Sadıqov": ["Sadigov", "Sadykov", "Садыков"],
    "Babayev": ["Babaev", "Бабаев"],
    "Hacıyev": ["Hajiyev", "Gadzhiev", "Гаджиев", "Haciyev"],
    "İbrahimov": ["Ibragimov", "Ибрагимов"],
    "Novruzov": ["Новрузов"],
    "Şükürov": ["Shukurov", "Шукюров", "Sukurov"],
    "Xəlilov": ["Khalilov", "Halilov", "Халилов"],
    "Qurbanov": ["Gurbanov", "Kurbanov", "Курбанов"],
    "Rəhimov": ["Rahimov", "Ragimov", "Рагимов"],
    "Ağayev": ["Agayev", "Agaev", "Агаев"],
    "Əsədov": ["Asadov", "Асадов"],
    "Tağıyev": ["Tagiyev", "Тагиев"],
    "Musayev": ["Musaev", "Мусаев"],
    "Əli": ["Ali", "Али"],
    "Hüseyn": ["Huseyn", "Гусейн"],
    "Rəşad": ["Rashad", "Рашад"],
    "Orxan": ["Orkhan", "Орхан"],
    "Nicat": ["Nijat", "Ниджат"],
    "Fərid": ["Farid", "Фарид"],
    "Elçin": ["Elchin", "Эльчин"],
    "Vüqar": ["Vugar", "Вугар"],
    "Səbuhi": ["Sabuhi", "Сабухи"],
    "Şahin": ["Shahin", "Шахин"],
    "Toğrul": ["Toghrul", "Тогрул"],
    "Cavid": ["Javid", "Джавид"],
    "Ülvi": ["Ulvi", "Ульви"],
    "Rövşən": ["Rovshan", "Ровшан"],
    "Aysel": ["Айсель"],
    "Günel": ["Gunel", "Гюнель"],
    "Leyla": ["Лейла"],
    "Nərgiz": ["Nargiz", "Наргиз"],
    "Səbinə": ["Sabina", "Сабина"],
    "Gülnar": ["Gulnar", "Гюльнар"],
    "Lalə": ["Lala", "Лала"],
    "Şəbnəm": ["Shabnam", "Шабнам"],
    "Aygün": ["Aygun", "Айгюн"],
    "Könül": ["Konul", "Кёнюль"],
    "Ülviyyə": ["Ulviyya", "Ульвия"],
    "Zəhra": ["Zahra", "Захра"],
    "Xədicə": ["Khadija", "Хадиджа"],
    "Sevinc": ["Sevinj", "Севиндж"],
    "Türkan": ["Turkan", "Тюркан"],
    "Ayşən": ["Ayshan", "Айшан"],
    "Mələk": ["Malak", "Малак"],
    "Jalə": ["Zhala", "Jala", "Жаля"],
    "Gülşən": ["Gulshan", "Гюльшан"],
    "Səadət": ["Saadat", "Саадат"],
    "Yaşar": ["Yashar", "Яшар"],
    "Heydər": ["Heydar", "Гейдар", "Geydar"],
    "Röya": ["Roya", "Рёя"],
    # Written in the Azerbaijani Cyrillic alphabet of 1958-1991.
    "Əhməd": ["Әһмәд"],
    "Ağa": ["Аға"],
    "Cəlil": ["Ҹәлил"],
    "Yusif": ["Јусиф", "Юсиф"],
}
PAIRS = [(name, other) for name, others in SPELLINGS.items() for other in others]


def matches(stored: str, typed: str) -> bool:
    """Whether a search for typed finds a name stored as stored (prefix of the folding key)."""
    return any(fold_name(stored).startswith(key) for key in search_keys(typed))


@pytest.mark.parametrize(("name", "spelling"), PAIRS, ids=[f"{a}~{b}" for a, b in PAIRS])
def test_every_spelling_of_a_name_has_its_key_and_finds_it(name: str, spelling: str) -> None:
    assert fold_name(spelling) == fold_name(name)
    assert matches(name, spelling) and matches(spelling, name)


@pytest.mark.parametrize(("name", "spelling"), PAIRS, ids=[f"{a}~{b}" for a, b in PAIRS])
def test_a_name_is_found_as_it_is_typed_letter_by_letter(name: str, spelling: str) -> None:
    # From the third letter on, each prefix a typist has written finds the name.
    for length in range(3, len(spelling) + 1):
        assert matches(name, spelling[:length]), spelling[:length]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Əliyev", "Vəliyev"),
        ("Əliyev", "Quliyev"),
        ("Hüseynov", "Həsənov"),
        ("Məmmədov", "Mahmudov"),
        ("Kərimov", "Rəhimov"),
        ("Orucov", "Oruclu"),
        ("Leyla", "Lalə"),
        ("Aysel", "Aygün"),
        ("Nicat", "Nigar"),
    ],
)
def test_different_names_keep_different_keys(one: str, other: str) -> None:
    assert not matches(one, other) and not matches(other, one)


def test_the_brief_s_examples() -> None:
    assert matches("Əliyev", "aliyev") and matches("Əliyev", "eliyev")
    assert matches("Hüseynov", "guseynov") and matches("Hüseynov", "huseynov")
    for stored, typed in (("Əliyev", "Алиев"), ("Hüseynov", "Гусейнов"), ("Məmmədov", "Мамедов")):
        assert matches(stored, typed) and matches(typed, stored)


def test_every_synthetic_name_and_its_female_form_fold_to_lower_case_latin() -> None:
    for name in (*SURNAMES, *MALE_NAMES, *FEMALE_NAMES):
        key = fold_name(name)
        assert key and key.isascii() and key.isalnum() and key == key.lower(), name
    # -ova: the female form of a surname is found by its male form, not the other way round.
    assert matches("Məmmədova", "Məmmədov") and not matches("Məmmədov", "Məmmədova")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Əli Heydər", "alikaidar"),
        ("Əli-Heydər", "alikaidar"),
        ("  Əli   Heydər  ", "alikaidar"),
        ("O'Brien", "obrian"),
        ("", ""),
        ("---", ""),
        ("张伟", ""),
        ("Məmməd 2", "mamad2"),
    ],
)
def test_separators_go_and_other_scripts_leave_nothing(text: str, key: str) -> None:
    assert fold_name(text) == key


def test_a_search_of_nothing_has_no_key() -> None:
    assert search_keys("") == () and search_keys(" - ") == () and search_keys("张伟") == ()


def test_the_last_word_is_tried_as_begun_and_as_complete() -> None:
    assert search_keys("Гусейно") == ("kusaina", "kusaino")  # the o of -ov, or of more
    assert set(search_keys("huseynov")) == {"kusainav", "kusainov"}
    assert "aka" in search_keys("Ağay")  # Ağayev drops its y before e
    assert "oruc" in search_keys("Orud")  # the start of dzh
    # Only the last word: the words before it are complete.
    assert search_keys("Məmmədov Əli") == ("mamadavali",)
