"""Azerbaijani names as citizens write them and as Russian-language records spell them.

The Russian spellings of Azerbaijani names are conventions, not transliterations (Məmmədov is
Мамедов, Hüseynov Гусейнов, Hacıyev Гаджиев), so each name carries its own. Surnames are given
in their masculine form; the feminine adds -a in both scripts (Əliyeva, Алиева).
"""

# fmt: off
SURNAMES: tuple[tuple[str, str], ...] = (
    ("Məmmədov", "Мамедов"), ("Əliyev", "Алиев"), ("Hüseynov", "Гусейнов"),
    ("Həsənov", "Гасанов"), ("Quliyev", "Кулиев"), ("İsmayılov", "Исмаилов"),
    ("Abdullayev", "Абдуллаев"), ("Rəhimov", "Рагимов"), ("Cəfərov", "Джафаров"),
    ("Əhmədov", "Ахмедов"), ("Babayev", "Бабаев"), ("Mustafayev", "Мустафаев"),
    ("Nəsirov", "Насиров"), ("Orucov", "Оруджев"), ("Süleymanov", "Сулейманов"),
    ("Kərimov", "Керимов"), ("Rzayev", "Рзаев"), ("Sadıqov", "Садыхов"),
    ("Vəliyev", "Велиев"), ("Bayramov", "Байрамов"), ("Qasımov", "Гасымов"),
    ("Nağıyev", "Нагиев"), ("Zeynalov", "Зейналов"), ("Allahverdiyev", "Аллахвердиев"),
    ("İbrahimov", "Ибрагимов"), ("Hacıyev", "Гаджиев"), ("Səfərov", "Сафаров"),
    ("Salmanov", "Салманов"), ("Novruzov", "Новрузов"), ("Əsgərov", "Аскеров"),
    ("Məlikov", "Меликов"), ("Tağıyev", "Тагиев"), ("Əzizov", "Азизов"),
    ("Musayev", "Мусаев"), ("Şükürov", "Шукюров"), ("Mirzəyev", "Мирзоев"),
    ("Axundov", "Ахундов"), ("Paşayev", "Пашаев"), ("Qəhrəmanov", "Гахраманов"),
    ("Eyvazov", "Эйвазов"), ("Hümbətov", "Гумбатов"), ("Xəlilov", "Халилов"),
    ("Bağırov", "Багиров"), ("Həşimov", "Гашимов"), ("Mehdiyev", "Мехтиев"),
    ("Məhərrəmov", "Магеррамов"), ("Nəbiyev", "Набиев"), ("Rüstəmov", "Рустамов"),
    ("Şahbazov", "Шахбазов"), ("Yusifov", "Юсифов"), ("Ağayev", "Агаев"),
    ("Əkbərov", "Акперов"), ("Fərzəliyev", "Фарзалиев"), ("Heydərov", "Гейдаров"),
    ("Kazımov", "Казымов"), ("Manafov", "Манафов"), ("Nuriyev", "Нуриев"),
    ("Qurbanov", "Курбанов"), ("Sultanov", "Султанов"), ("Zülfüqarov", "Зульфугаров"),
)

MALE_NAMES: tuple[tuple[str, str], ...] = (
    ("Əli", "Али"), ("Məhəmməd", "Магомед"), ("Hüseyn", "Гусейн"), ("Rəşad", "Рашад"),
    ("Elvin", "Эльвин"), ("Elçin", "Эльчин"), ("Tural", "Турал"), ("Orxan", "Орхан"),
    ("Kamran", "Камран"), ("Ramil", "Рамиль"), ("Vüqar", "Вугар"), ("Anar", "Анар"),
    ("Fərid", "Фарид"), ("Nicat", "Ниджат"), ("Murad", "Мурад"), ("Rauf", "Рауф"),
    ("Elnur", "Эльнур"), ("Samir", "Самир"), ("Ceyhun", "Джейхун"), ("Nurlan", "Нурлан"),
    ("Rüfət", "Руфат"), ("Emin", "Эмин"), ("Zaur", "Заур"), ("İlqar", "Ильгар"),
    ("Elşən", "Эльшан"), ("Tofiq", "Тофик"), ("Vaqif", "Вагиф"), ("Rasim", "Расим"),
    ("Natiq", "Натик"), ("Ayxan", "Айхан"), ("Yusif", "Юсиф"), ("Ömər", "Омар"),
    ("Kənan", "Кенан"), ("Heydər", "Гейдар"), ("Səməd", "Самед"), ("İlham", "Ильхам"),
    ("Mübariz", "Мубариз"), ("Sənan", "Санан"), ("Toğrul", "Тогрул"), ("Fuad", "Фуад"),
    ("Həsən", "Гасан"), ("Xəyal", "Хаял"), ("Cavid", "Джавид"), ("Rövşən", "Ровшан"),
)

FEMALE_NAMES: tuple[tuple[str, str], ...] = (
    ("Aysel", "Айсель"), ("Leyla", "Лейла"), ("Günay", "Гюнай"), ("Nərmin", "Нармин"),
    ("Sevinc", "Севиндж"), ("Aynur", "Айнур"), ("Könül", "Кёнуль"), ("Ülviyyə", "Ульвия"),
    ("Nigar", "Нигяр"), ("Səbinə", "Сабина"), ("Fidan", "Фидан"), ("Aytən", "Айтан"),
    ("Gülnar", "Гюльнара"), ("Zəhra", "Захра"), ("Məryəm", "Марьям"), ("Lalə", "Лала"),
    ("Şəbnəm", "Шабнам"), ("Türkan", "Туркан"), ("Arzu", "Арзу"), ("Xədicə", "Хадиджа"),
    ("Nurlana", "Нурлана"), ("Samirə", "Самира"), ("Vüsalə", "Вюсаля"), ("Elnarə", "Эльнара"),
    ("Rəna", "Рена"), ("Kamilə", "Камила"), ("Aygün", "Айгюн"), ("Sevda", "Севда"),
    ("Fatimə", "Фатима"), ("Ayan", "Аян"), ("Nazlı", "Назлы"), ("Zümrüd", "Зумруд"),
    ("Ülkər", "Улькер"), ("Məleykə", "Малейка"), ("Pərvin", "Парвин"), ("Nərgiz", "Наргиз"),
)

STREETS: tuple[str, ...] = (
    "Nizami küçəsi", "Füzuli küçəsi", "Azadlıq prospekti", "Həsən bəy Zərdabi küçəsi",
    "Səməd Vurğun küçəsi", "Xətai prospekti", "Nəriman Nərimanov küçəsi", "Cəfər Cabbarlı küçəsi",
    "Heydər Əliyev prospekti", "Üzeyir Hacıbəyov küçəsi", "Natəvan küçəsi", "Şərifzadə küçəsi",
    "Məhəmməd Hadi küçəsi", "Zərifə Əliyeva küçəsi", "İstiqlaliyyət küçəsi", "Bülbül prospekti",
)
# fmt: on

MOBILE_PREFIXES: tuple[str, ...] = ("50", "51", "55", "70", "77", "99", "10")


def feminine(surname: str) -> str:
    """A surname's feminine form, in either script: -ov/-yev take -a (Əliyeva, Алиева)."""
    if surname.endswith("v"):
        return surname + "a"
    if surname.endswith("в"):
        return surname + "\u0430"  # Cyrillic а
    return surname  # -li, -zadə, -lı: the same for women
