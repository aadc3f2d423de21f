"""Generate src/shafa/registries/data/medicines.csv: the register Shafa ships.

Real INNs with their WHO ATC codes and DDDs, the trade names, marketing-authorisation holders,
strengths, dose forms and pack sizes under which they are sold; synthetic, check-digit-valid
GTINs under GS1 Azerbaijan's prefix 476 (one made-up company prefix per holder), registration
numbers, validity periods, statuses and prices in AZN. A product is prescription-only unless its
substance is marked otc; narcotic and psychotropic substances are controlled; those marked
essential are on the reimbursement list, their reference price the cheapest retail price per
unit among the products a pharmacy may substitute for one another.

Deterministic (a fixed seed), so the file only changes when this does. Rerun from the repository
root with the project's virtualenv after changing the specification below:

    PYTHONPATH=src .venv/bin/python tools/medicines_data.py
"""

import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from biip.checksums import gs1_standard_check_digit

from shafa.registries import medicines_csv
from shafa.registries.medicines_csv import holder_id
from shafa.registries.medicines_entry import Entry
from shafa.registries.medicines_rules import (
    ANNOTATION,
    Amount,
    Ingredient,
    RegistrationStatus,
    Schedule,
    Strength,
    equivalence,
    plain,
    who_routes,
)

OUT = Path(__file__).resolve().parent.parent / "src/shafa/registries/data/medicines.csv"
SEED = 20261122
TODAY = date(2026, 11, 22)  # the register's "now" when the file was made: statuses agree with it
GS1_AZERBAIJAN = "476"


@dataclass
class Substance:
    """An INN (or a combination, INNs joined by ' + '), its ATC code, flags, DDDs and products.

    flags: otc (no prescription), narcotic or psychotropic, essential (reimbursed), withdrawn.
    ddd: WHO's DDD per route letter, 'O 3 g; P 3 g'. products: one line each,
    'trade name | holder | dose form | strength/per | route(s) | pack sizes'.
    """

    inn: str
    atc: str
    flags: str
    ddd: str
    products: str
    lines: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lines = [
            [cell.strip() for cell in line.split("|")]
            for line in self.products.strip().splitlines()
            if line.strip()
        ]


S = Substance
# fmt: off
SUBSTANCES = [
    # --- A: alimentary tract and metabolism ------------------------------------------------
    S("omeprazole", "A02BC01", "essential", "O 20 mg; P 20 mg", """
        Omez | Dr. Reddy's Laboratories | gastro-resistant-capsule | 20 mg/{capsule} | oral | 30
        Losec | AstraZeneca | gastro-resistant-capsule | 20 mg/{capsule} | oral | 14 28
        Omeprazole-Teva | Teva | gastro-resistant-capsule | 20 mg/{capsule} | oral | 28
        Ultop | KRKA | gastro-resistant-capsule | 40 mg/{capsule} | oral | 14 28
        Losec | AstraZeneca | powder-for-solution-for-injection | 40 mg/{vial} | intravenous | 1{vial}
    """),
    S("pantoprazole", "A02BC02", "", "O 40 mg; P 40 mg", """
        Nolpaza | KRKA | gastro-resistant-tablet | 40 mg/{tablet} | oral | 14 28
        Controloc | Takeda | gastro-resistant-tablet | 40 mg/{tablet} | oral | 14 28
        Controloc | Takeda | gastro-resistant-tablet | 20 mg/{tablet} | oral | 14
        Controloc | Takeda | powder-for-solution-for-injection | 40 mg/{vial} | intravenous | 1{vial}
    """),
    S("esomeprazole", "A02BC05", "", "O 30 mg; P 30 mg", """
        Nexium | AstraZeneca | gastro-resistant-tablet | 20 mg/{tablet} | oral | 14 28
        Nexium | AstraZeneca | gastro-resistant-tablet | 40 mg/{tablet} | oral | 14 28
        Emanera | KRKA | gastro-resistant-capsule | 20 mg/{capsule} | oral | 14 28
    """),
    S("lansoprazole", "A02BC03", "", "O 30 mg", """
        Lancid | Nobel Ilac | gastro-resistant-capsule | 30 mg/{capsule} | oral | 14 28
        Epicurus | Sanofi | gastro-resistant-capsule | 30 mg/{capsule} | oral | 14
    """),
    S("famotidine", "A02BA03", "", "O 40 mg; P 40 mg", """
        Quamatel | Gedeon Richter | film-coated-tablet | 20 mg/{tablet} | oral | 28
        Quamatel | Gedeon Richter | film-coated-tablet | 40 mg/{tablet} | oral | 14
    """),
    S("ranitidine", "A02BA02", "withdrawn", "O 0.3 g; P 0.3 g", """
        Zantac | GlaxoSmithKline | film-coated-tablet | 150 mg/{tablet} | oral | 20
        Ranitidine-Akos | Sintez | film-coated-tablet | 150 mg/{tablet} | oral | 20
    """),
    S("metoclopramide", "A03FA01", "essential", "O 30 mg; P 30 mg; R 30 mg", """
        Cerucal | Teva | tablet | 10 mg/{tablet} | oral | 50
        Cerucal | Teva | solution-for-injection | 10 mg/2 mL | intravenous intramuscular | 10{ampoule}
        Metoclopramide-Hemofarm | Hemofarm | tablet | 10 mg/{tablet} | oral | 30
    """),
    S("domperidone", "A03FA03", "otc", "O 30 mg; R 0.12 g", """
        Motilium | Janssen | film-coated-tablet | 10 mg/{tablet} | oral | 10 30
        Motilak | Vertex | film-coated-tablet | 10 mg/{tablet} | oral | 10 30
        Motilium | Janssen | oral-suspension | 5 mg/5 mL | oral | 100mL
    """),
    S("ondansetron", "A04AA01", "", "O 16 mg; P 16 mg; R 16 mg", """
        Zofran | Novartis | film-coated-tablet | 8 mg/{tablet} | oral | 10
        Zofran | Novartis | solution-for-injection | 8 mg/4 mL | intravenous intramuscular | 5{ampoule}
        Latran | Sotex | solution-for-injection | 4 mg/2 mL | intravenous intramuscular | 5{ampoule}
    """),
    S("drotaverine", "A03AD02", "otc", "O 0.1 g; P 0.1 g", """
        No-Spa | Sanofi | tablet | 40 mg/{tablet} | oral | 24 64
        No-Spa | Sanofi | solution-for-injection | 40 mg/2 mL | intravenous intramuscular | 5{ampoule} 25{ampoule}
        Drotaverin-Ellara | Ellara | tablet | 40 mg/{tablet} | oral | 20
    """),
    S("butylscopolamine", "A03BB01", "otc", "O 60 mg; P 60 mg; R 60 mg", """
        Buscopan | Sanofi | coated-tablet | 10 mg/{tablet} | oral | 20
        Buscopan | Sanofi | suppository | 10 mg/{suppository} | rectal | 10
    """),
    S("mebeverine", "A03AA04", "", "O 0.3 g", """
        Duspatalin | Abbott | prolonged-release-capsule | 200 mg/{capsule} | oral | 30
        Niaspam | Sun Pharmaceutical | prolonged-release-capsule | 200 mg/{capsule} | oral | 30
    """),
    S("simeticone", "A03AX13", "otc", "O 0.5 g", """
        Espumisan | Berlin-Chemie | capsule-soft | 40 mg/{capsule} | oral | 25 50
        Espumisan L | Berlin-Chemie | oral-drops | 40 mg/mL | oral | 30mL
        Sab Simplex | Pfizer | oral-suspension | 69.19 mg/mL | oral | 30mL
    """),
    S("loperamide", "A07DA03", "otc", "O 10 mg", """
        Imodium | Janssen | capsule-hard | 2 mg/{capsule} | oral | 6 20
        Loperamide-Akrikhin | Akrikhin | capsule-hard | 2 mg/{capsule} | oral | 20
    """),
    S("bisacodyl", "A06AB02", "otc", "O 10 mg; R 10 mg", """
        Dulcolax | Sanofi | gastro-resistant-tablet | 5 mg/{tablet} | oral | 30
        Dulcolax | Sanofi | suppository | 10 mg/{suppository} | rectal | 6
    """),
    S("lactulose", "A06AD11", "otc", "O 6.7 g", """
        Duphalac | Abbott | oral-solution | 3.335 g/5 mL | oral | 200mL 500mL
        Normase | Mylan | syrup | 3.335 g/5 mL | oral | 200mL
    """),
    S("macrogol", "A06AD15", "otc", "O 10 g", """
        Forlax | Ipsen | oral-solution | 10 g/{sachet} | oral | 20{sachet}
        Transipeg | Bouchara-Recordati | oral-solution | 2.95 g/{sachet} | oral | 30{sachet}
    """),
    S("ursodeoxycholic acid", "A05AA02", "", "O 0.75 g", """
        Ursofalk | Dr. Falk Pharma | capsule-hard | 250 mg/{capsule} | oral | 50 100
        Ursosan | PRO.MED.CS | capsule-hard | 250 mg/{capsule} | oral | 50 100
        Ursofalk | Dr. Falk Pharma | oral-suspension | 250 mg/5 mL | oral | 250mL
    """),
    S("mesalazine", "A07EC02", "", "O 1.5 g; R 1.5 g", """
        Salofalk | Dr. Falk Pharma | gastro-resistant-tablet | 500 mg/{tablet} | oral | 50 100
        Salofalk | Dr. Falk Pharma | suppository | 500 mg/{suppository} | rectal | 30
        Pentasa | Ferring | prolonged-release-tablet | 500 mg/{tablet} | oral | 100
    """),
    S("nifuroxazide", "A07AX03", "otc", "O 0.6 g", """
        Enterofuril | Bosnalijek | capsule-hard | 200 mg/{capsule} | oral | 16
        Enterofuril | Bosnalijek | oral-suspension | 200 mg/5 mL | oral | 90mL
        Ercefuryl | Sanofi | capsule-hard | 200 mg/{capsule} | oral | 14
    """),
    S("metformin", "A10BA02", "essential", "O 2 g", """
        Glucophage | Merck | film-coated-tablet | 500 mg/{tablet} | oral | 60
        Glucophage | Merck | film-coated-tablet | 850 mg/{tablet} | oral | 60
        Glucophage | Merck | film-coated-tablet | 1000 mg/{tablet} | oral | 60
        Glucophage Long | Merck | prolonged-release-tablet | 1000 mg/{tablet} | oral | 30 60
        Siofor | Berlin-Chemie | film-coated-tablet | 500 mg/{tablet} | oral | 60
        Siofor | Berlin-Chemie | film-coated-tablet | 850 mg/{tablet} | oral | 60
        Siofor | Berlin-Chemie | film-coated-tablet | 1000 mg/{tablet} | oral | 60
        Metformin-Teva | Teva | film-coated-tablet | 850 mg/{tablet} | oral | 30 60
    """),
    S("gliclazide", "A10BB09", "essential", "O 60 mg", """
        Diabeton MR | Servier | modified-release-tablet | 60 mg/{tablet} | oral | 30 60
        Gliclada | KRKA | modified-release-tablet | 60 mg/{tablet} | oral | 30 60
    """),
    S("glimepiride", "A10BB12", "essential", "O 2 mg", """
        Amaryl | Sanofi | tablet | 2 mg/{tablet} | oral | 30
        Amaryl | Sanofi | tablet | 4 mg/{tablet} | oral | 30
        Glimepiride-Teva | Teva | tablet | 2 mg/{tablet} | oral | 30
        Meglimid | KRKA | tablet | 4 mg/{tablet} | oral | 30
    """),
    S("sitagliptin", "A10BH01", "", "O 0.1 g", """
        Januvia | MSD | film-coated-tablet | 100 mg/{tablet} | oral | 28
        Januvia | MSD | film-coated-tablet | 50 mg/{tablet} | oral | 28
    """),
    S("vildagliptin", "A10BH02", "", "O 0.1 g", """
        Galvus | Novartis | tablet | 50 mg/{tablet} | oral | 28 56
    """),
    S("empagliflozin", "A10BK03", "", "O 17.5 mg", """
        Jardiance | Boehringer Ingelheim | film-coated-tablet | 10 mg/{tablet} | oral | 30
        Jardiance | Boehringer Ingelheim | film-coated-tablet | 25 mg/{tablet} | oral | 30
    """),
    S("dapagliflozin", "A10BK01", "", "O 10 mg", """
        Forxiga | AstraZeneca | film-coated-tablet | 10 mg/{tablet} | oral | 28 30
    """),
    S("pioglitazone", "A10BG03", "", "O 30 mg", """
        Pioglar | Sun Pharmaceutical | tablet | 30 mg/{tablet} | oral | 30
    """),
    S("acarbose", "A10BF01", "", "O 0.3 g", """
        Glucobay | Bayer | tablet | 50 mg/{tablet} | oral | 30
        Glucobay | Bayer | tablet | 100 mg/{tablet} | oral | 30
    """),
    S("insulin glargine", "A10AE04", "essential", "P 40 [IU]", """
        Lantus SoloStar | Sanofi | solution-for-injection | 300 [IU]/3 mL | subcutaneous | 5{pen}
        Toujeo SoloStar | Sanofi | solution-for-injection | 450 [IU]/1.5 mL | subcutaneous | 3{pen}
    """),
    S("insulin aspart", "A10AB05", "essential", "P 40 [IU]", """
        NovoRapid FlexPen | Novo Nordisk | solution-for-injection | 300 [IU]/3 mL | subcutaneous | 5{pen}
    """),
    S("insulin (human)", "A10AB01", "essential", "P 40 [IU]", """
        Actrapid HM | Novo Nordisk | solution-for-injection | 1000 [IU]/10 mL | subcutaneous intravenous | 1{vial}
        Humulin Regular | Eli Lilly | solution-for-injection | 1000 [IU]/10 mL | subcutaneous intravenous | 1{vial}
    """),
    S("pancreatin", "A09AA02", "otc", "", """
        Creon 10000 | Abbott | gastro-resistant-capsule | 150 mg/{capsule} | oral | 20 50
        Mezym forte | Berlin-Chemie | film-coated-tablet | 200 mg/{tablet} | oral | 20 80
    """),
    S("colecalciferol", "A11CC05", "otc", "O 20 ug", """
        Aquadetrim | Medana Pharma | oral-drops | 15000 [IU]/mL | oral | 10mL
        Vigantol | Merck | oral-drops | 20000 [IU]/mL | oral | 10mL
    """),
    S("ascorbic acid", "A11GA01", "otc", "O 0.2 g; P 0.2 g", """
        Upsavit Vitamin C | UPSA | effervescent-tablet | 1000 mg/{tablet} | oral | 10
        Ascorbic Acid-Borisov | Borisov Plant | solution-for-injection | 250 mg/5 mL | intravenous intramuscular | 10{ampoule}
    """),
    S("potassium chloride", "A12BA01", "", "O 3 g", """
        Kalium Chloratum | Bilim Ilac | prolonged-release-tablet | 600 mg/{tablet} | oral | 30
    """),
    S("diosmectite", "A07BC05", "otc", "O 9 g", """
        Smecta | Ipsen | powder-for-oral-suspension | 3 g/{sachet} | oral | 10{sachet} 30{sachet}
        Neosmectin | Pharmstandard | powder-for-oral-suspension | 3 g/{sachet} | oral | 10{sachet}
    """),
    S("itopride", "A03FA07", "", "O 0.15 g", """
        Ganaton | Abbott | film-coated-tablet | 50 mg/{tablet} | oral | 40
    """),
    # --- B: blood -----------------------------------------------------------------------------
    S("warfarin", "B01AA03", "essential", "O 7.5 mg", """
        Warfarin Nycomed | Takeda | tablet | 2.5 mg/{tablet} | oral | 50 100
        Marevan | Orion | tablet | 3 mg/{tablet} | oral | 100
    """),
    S("acetylsalicylic acid", "B01AC06", "otc essential", "O 1 {tablet}", """
        Aspirin Cardio | Bayer | gastro-resistant-tablet | 100 mg/{tablet} | oral | 28 56
        ThromboASS | Lannacher | gastro-resistant-tablet | 100 mg/{tablet} | oral | 30 100
        Acekardol | Sintez | gastro-resistant-tablet | 100 mg/{tablet} | oral | 30
        ThromboASS | Lannacher | gastro-resistant-tablet | 75 mg/{tablet} | oral | 30
    """),
    S("clopidogrel", "B01AC04", "essential", "O 75 mg", """
        Plavix | Sanofi | film-coated-tablet | 75 mg/{tablet} | oral | 28
        Zilt | KRKA | film-coated-tablet | 75 mg/{tablet} | oral | 28 84
        Plagril | Dr. Reddy's Laboratories | film-coated-tablet | 75 mg/{tablet} | oral | 30
    """),
    S("ticagrelor", "B01AC24", "", "O 0.18 g", """
        Brilinta | AstraZeneca | film-coated-tablet | 90 mg/{tablet} | oral | 56
    """),
    S("rivaroxaban", "B01AF01", "", "O 20 mg", """
        Xarelto | Bayer | film-coated-tablet | 10 mg/{tablet} | oral | 10 30
        Xarelto | Bayer | film-coated-tablet | 15 mg/{tablet} | oral | 28
        Xarelto | Bayer | film-coated-tablet | 20 mg/{tablet} | oral | 28
    """),
    S("apixaban", "B01AF02", "", "O 10 mg", """
        Eliquis | Bristol-Myers Squibb | film-coated-tablet | 2.5 mg/{tablet} | oral | 20 60
        Eliquis | Bristol-Myers Squibb | film-coated-tablet | 5 mg/{tablet} | oral | 60
    """),
    S("dabigatran etexilate", "B01AE07", "", "O 0.3 g", """
        Pradaxa | Boehringer Ingelheim | capsule-hard | 110 mg/{capsule} | oral | 30 60
        Pradaxa | Boehringer Ingelheim | capsule-hard | 150 mg/{capsule} | oral | 60
    """),
    S("heparin", "B01AB01", "essential", "P 10000 [IU]", """
        Heparin-Belmedpreparaty | Belmedpreparaty | solution-for-injection | 25000 [IU]/5 mL | intravenous subcutaneous | 5{vial}
        Heparin Sodium-Brown | B. Braun | solution-for-injection | 25000 [IU]/5 mL | intravenous subcutaneous | 10{vial}
    """),
    S("enoxaparin", "B01AB05", "essential", "P 2000 [IU]", """
        Clexane | Sanofi | solution-for-injection | 4000 [IU]/0.4 mL | subcutaneous | 10{syringe}
        Clexane | Sanofi | solution-for-injection | 8000 [IU]/0.8 mL | subcutaneous | 10{syringe}
        Anfibra | Sotex | solution-for-injection | 4000 [IU]/0.4 mL | subcutaneous | 10{syringe}
    """),
    S("tranexamic acid", "B02AA02", "essential", "O 2 g; P 2 g", """
        Tranexam | Moskhimpharmpreparaty | film-coated-tablet | 250 mg/{tablet} | oral | 30
        Cyklokapron | Pfizer | film-coated-tablet | 500 mg/{tablet} | oral | 30
        Cyklokapron | Pfizer | solution-for-injection | 500 mg/5 mL | intravenous | 10{ampoule}
    """),
    S("etamsylate", "B02BX01", "", "", """
        Dicynone | Sandoz | tablet | 250 mg/{tablet} | oral | 100
        Dicynone | Sandoz | solution-for-injection | 250 mg/2 mL | intravenous intramuscular | 50{ampoule}
    """),
    S("ferrous sulfate", "B03AA07", "otc essential", "O 0.2 g", """
        Sorbifer Durules | Egis | prolonged-release-tablet | 320 mg/{tablet} | oral | 30 50
        Tardyferon | Pierre Fabre | prolonged-release-tablet | 256.3 mg/{tablet} | oral | 30
    """),
    S("folic acid", "B03BB01", "otc essential", "O 0.4 mg", """
        Folacin | Jadran | tablet | 5 mg/{tablet} | oral | 30
        Folic Acid-Borisov | Borisov Plant | tablet | 1 mg/{tablet} | oral | 50
    """),
    S("cyanocobalamin", "B03BA01", "", "P 20 ug", """
        Cyanocobalamin-Darnitsa | Darnitsa | solution-for-injection | 0.5 mg/mL | intramuscular subcutaneous | 10{ampoule}
    """),
    S("sodium chloride", "B05XA03", "essential", "", """
        Sodium Chloride 0.9% Braun | B. Braun | solution-for-infusion | 2250 mg/250 mL | intravenous | 10{bottle}
        Sodium Chloride 0.9% Baxter | Baxter | solution-for-infusion | 4500 mg/500 mL | intravenous | 10{bag}
    """),
    # --- C: cardiovascular system -------------------------------------------------------------
    S("digoxin", "C01AA05", "essential", "O 0.25 mg; P 0.25 mg", """
        Digoxin-Gedeon Richter | Gedeon Richter | tablet | 0.25 mg/{tablet} | oral | 50
        Digoxin-Grindeks | Grindeks | tablet | 0.25 mg/{tablet} | oral | 50
    """),
    S("amiodarone", "C01BD01", "essential", "O 0.2 g; P 0.2 g", """
        Cordarone | Sanofi | tablet | 200 mg/{tablet} | oral | 30
        Cordarone | Sanofi | solution-for-injection | 150 mg/3 mL | intravenous | 6{ampoule}
        Amiodarone-Sandoz | Sandoz | tablet | 200 mg/{tablet} | oral | 30
    """),
    S("propafenone", "C01BC03", "", "O 0.3 g", """
        Propanorm | PRO.MED.CS | film-coated-tablet | 150 mg/{tablet} | oral | 50
        Rytmonorm | Abbott | film-coated-tablet | 150 mg/{tablet} | oral | 50
    """),
    S("glyceryl trinitrate", "C01DA02", "essential", "SL 2.5 mg", """
        Nitromint | Egis | sublingual-spray | 0.4 mg/{actuation} | sublingual | 200{actuation}
        Nitroglycerin-Medisorb | Medisorb | sublingual-tablet | 0.5 mg/{tablet} | sublingual | 40
    """),
    S("isosorbide mononitrate", "C01DA14", "", "O 40 mg", """
        Monocinque | Alpharma | tablet | 40 mg/{tablet} | oral | 30
        Mono Mack Depot | Besins Healthcare | prolonged-release-tablet | 100 mg/{tablet} | oral | 20
    """),
    S("trimetazidine", "C01EB15", "", "O 40 mg", """
        Preductal MR | Servier | modified-release-tablet | 35 mg/{tablet} | oral | 60
        Trimetazidine-Teva | Teva | modified-release-tablet | 35 mg/{tablet} | oral | 60
    """),
    S("ivabradine", "C01EB17", "", "O 10 mg", """
        Coraxan | Servier | film-coated-tablet | 5 mg/{tablet} | oral | 56
        Coraxan | Servier | film-coated-tablet | 7.5 mg/{tablet} | oral | 56
    """),
    S("hydrochlorothiazide", "C03AA03", "essential", "O 25 mg", """
        Hypothiazid | Sanofi | tablet | 25 mg/{tablet} | oral | 20
        Hypothiazid | Sanofi | tablet | 100 mg/{tablet} | oral | 20
    """),
    S("indapamide", "C03BA11", "essential", "O 2.5 mg", """
        Arifon retard | Servier | prolonged-release-tablet | 1.5 mg/{tablet} | oral | 30
        Indap | PRO.MED.CS | capsule-hard | 2.5 mg/{capsule} | oral | 30
        Ravel SR | KRKA | prolonged-release-tablet | 1.5 mg/{tablet} | oral | 30
    """),
    S("furosemide", "C03CA01", "essential", "O 40 mg; P 40 mg", """
        Lasix | Sanofi | tablet | 40 mg/{tablet} | oral | 50
        Lasix | Sanofi | solution-for-injection | 20 mg/2 mL | intravenous intramuscular | 10{ampoule}
        Furosemide-Sopharma | Sopharma | tablet | 40 mg/{tablet} | oral | 50
    """),
    S("torasemide", "C03CA04", "", "O 15 mg", """
        Diuver | Teva | tablet | 5 mg/{tablet} | oral | 20
        Diuver | Teva | tablet | 10 mg/{tablet} | oral | 20 60
        Trigrim | Polpharma | tablet | 10 mg/{tablet} | oral | 30
    """),
    S("spironolactone", "C03DA01", "essential", "O 37.5 mg", """
        Veroshpiron | Gedeon Richter | tablet | 25 mg/{tablet} | oral | 20
        Veroshpiron | Gedeon Richter | capsule-hard | 50 mg/{capsule} | oral | 30
        Aldactone | Pfizer | film-coated-tablet | 25 mg/{tablet} | oral | 20
    """),
    S("eplerenone", "C03DA04", "", "O 50 mg", """
        Inspra | Pfizer | film-coated-tablet | 25 mg/{tablet} | oral | 30
        Inspra | Pfizer | film-coated-tablet | 50 mg/{tablet} | oral | 30
    """),
    S("bisoprolol", "C07AB07", "essential", "O 10 mg", """
        Concor | Merck | film-coated-tablet | 5 mg/{tablet} | oral | 30 50
        Concor | Merck | film-coated-tablet | 10 mg/{tablet} | oral | 30 50
        Concor Cor | Merck | film-coated-tablet | 2.5 mg/{tablet} | oral | 30
        Bisoprolol-Teva | Teva | film-coated-tablet | 5 mg/{tablet} | oral | 30
        Bisogamma | Wörwag Pharma | film-coated-tablet | 5 mg/{tablet} | oral | 30
        Niperten | KRKA | film-coated-tablet | 10 mg/{tablet} | oral | 30
    """),
    S("metoprolol", "C07AB02", "essential", "O 0.15 g", """
        Egilok | Egis | tablet | 50 mg/{tablet} | oral | 60
        Egilok | Egis | tablet | 100 mg/{tablet} | oral | 60
        Betaloc ZOK | Recordati | prolonged-release-tablet | 50 mg/{tablet} | oral | 30
        Vasocardin | Zentiva | tablet | 50 mg/{tablet} | oral | 50
    """),
    S("nebivolol", "C07AB12", "", "O 5 mg", """
        Nebilet | Menarini | tablet | 5 mg/{tablet} | oral | 28
        Binelol | KRKA | tablet | 5 mg/{tablet} | oral | 28
    """),
    S("carvedilol", "C07AG02", "essential", "O 37.5 mg", """
        Dilatrend | Roche | tablet | 25 mg/{tablet} | oral | 30
        Coriol | KRKA | tablet | 6.25 mg/{tablet} | oral | 28
        Coriol | KRKA | tablet | 25 mg/{tablet} | oral | 28
    """),
    S("atenolol", "C07AB03", "essential", "O 75 mg", """
        Tenormin | AstraZeneca | film-coated-tablet | 50 mg/{tablet} | oral | 28
        Atenolol-Nycomed | Takeda | tablet | 50 mg/{tablet} | oral | 30
    """),
    S("propranolol", "C07AA05", "essential", "O 0.16 g", """
        Obzidan | Teva | tablet | 40 mg/{tablet} | oral | 50
        Anaprilin | Dalchimpharm | tablet | 40 mg/{tablet} | oral | 50
    """),
    S("amlodipine", "C08CA01", "essential", "O 5 mg", """
        Norvasc | Pfizer | tablet | 5 mg/{tablet} | oral | 30
        Norvasc | Pfizer | tablet | 10 mg/{tablet} | oral | 30
        Tenox | KRKA | tablet | 5 mg/{tablet} | oral | 30
        Tenox | KRKA | tablet | 10 mg/{tablet} | oral | 30
        Normodipine | Gedeon Richter | tablet | 5 mg/{tablet} | oral | 30
        Amlodipine-Teva | Teva | tablet | 10 mg/{tablet} | oral | 30
        Amlodin | Nobel Ilac | tablet | 5 mg/{tablet} | oral | 30
    """),
    S("nifedipine", "C08CA05", "essential", "O 30 mg", """
        Corinfar | Teva | prolonged-release-tablet | 10 mg/{tablet} | oral | 50
        Adalat SL | Bayer | prolonged-release-tablet | 20 mg/{tablet} | oral | 30
        Cordipin XL | KRKA | prolonged-release-tablet | 40 mg/{tablet} | oral | 20
    """),
    S("verapamil", "C08DA01", "essential", "O 0.24 g; P 0.24 g", """
        Isoptin | Abbott | film-coated-tablet | 80 mg/{tablet} | oral | 50
        Isoptin SR | Abbott | prolonged-release-tablet | 240 mg/{tablet} | oral | 30
    """),
    S("diltiazem", "C08DB01", "", "O 0.24 g", """
        Diltiazem-Teva | Teva | prolonged-release-tablet | 90 mg/{tablet} | oral | 30
    """),
    S("lercanidipine", "C08CA13", "", "O 10 mg", """
        Lerkamen | Berlin-Chemie | film-coated-tablet | 10 mg/{tablet} | oral | 28
        Lerkamen | Berlin-Chemie | film-coated-tablet | 20 mg/{tablet} | oral | 28
    """),
    S("enalapril", "C09AA02", "essential", "O 10 mg", """
        Enap | KRKA | tablet | 5 mg/{tablet} | oral | 20
        Enap | KRKA | tablet | 10 mg/{tablet} | oral | 20 60
        Enap | KRKA | tablet | 20 mg/{tablet} | oral | 20 60
        Renitec | MSD | tablet | 10 mg/{tablet} | oral | 28
        Berlipril | Berlin-Chemie | tablet | 10 mg/{tablet} | oral | 30
        Enalapril-Hexal | Sandoz | tablet | 10 mg/{tablet} | oral | 30
    """),
    S("lisinopril", "C09AA03", "essential", "O 10 mg", """
        Diroton | Gedeon Richter | tablet | 10 mg/{tablet} | oral | 28
        Diroton | Gedeon Richter | tablet | 20 mg/{tablet} | oral | 28
        Lisinopril-Teva | Teva | tablet | 10 mg/{tablet} | oral | 30
        Lysigamma | Wörwag Pharma | film-coated-tablet | 10 mg/{tablet} | oral | 30
    """),
    S("perindopril", "C09AA04", "", "O 4 mg", """
        Prestarium A | Servier | film-coated-tablet | 5 mg/{tablet} | oral | 30
        Prestarium A | Servier | film-coated-tablet | 10 mg/{tablet} | oral | 30
        Perineva | KRKA | tablet | 4 mg/{tablet} | oral | 30
    """),
    S("ramipril", "C09AA05", "", "O 2.5 mg", """
        Tritace | Sanofi | tablet | 5 mg/{tablet} | oral | 28
        Tritace | Sanofi | tablet | 10 mg/{tablet} | oral | 28
        Hartil | Egis | tablet | 5 mg/{tablet} | oral | 28
        Amprilan | KRKA | tablet | 5 mg/{tablet} | oral | 30
    """),
    S("captopril", "C09AA01", "essential", "O 50 mg", """
        Capoten | Akrikhin | tablet | 25 mg/{tablet} | oral | 40
        Captopril-Sopharma | Sopharma | tablet | 25 mg/{tablet} | oral | 40
    """),
    S("fosinopril", "C09AA09", "", "O 15 mg", """
        Monopril | Bristol-Myers Squibb | tablet | 10 mg/{tablet} | oral | 28
        Fosicard | Actavis | tablet | 20 mg/{tablet} | oral | 28
    """),
    S("losartan", "C09CA01", "essential", "O 50 mg", """
        Lorista | KRKA | film-coated-tablet | 50 mg/{tablet} | oral | 30 90
        Lorista | KRKA | film-coated-tablet | 100 mg/{tablet} | oral | 30
        Cozaar | MSD | film-coated-tablet | 50 mg/{tablet} | oral | 28
        Lozap | Zentiva | film-coated-tablet | 50 mg/{tablet} | oral | 30
        Presartan | Ipca | film-coated-tablet | 50 mg/{tablet} | oral | 30
    """),
    S("valsartan", "C09CA03", "", "O 80 mg", """
        Diovan | Novartis | film-coated-tablet | 80 mg/{tablet} | oral | 28
        Diovan | Novartis | film-coated-tablet | 160 mg/{tablet} | oral | 28
        Valz | Actavis | film-coated-tablet | 160 mg/{tablet} | oral | 28
        Valsacor | KRKA | film-coated-tablet | 80 mg/{tablet} | oral | 28
    """),
    S("candesartan", "C09CA06", "", "O 8 mg", """
        Atacand | AstraZeneca | tablet | 8 mg/{tablet} | oral | 28
        Candecor | KRKA | tablet | 16 mg/{tablet} | oral | 28
    """),
    S("telmisartan", "C09CA07", "", "O 40 mg", """
        Micardis | Boehringer Ingelheim | tablet | 40 mg/{tablet} | oral | 28
        Micardis | Boehringer Ingelheim | tablet | 80 mg/{tablet} | oral | 28
        Telsartan | Dr. Reddy's Laboratories | tablet | 40 mg/{tablet} | oral | 30
    """),
    S("irbesartan", "C09CA04", "", "O 0.15 g", """
        Aprovel | Sanofi | film-coated-tablet | 150 mg/{tablet} | oral | 28
        Aprovel | Sanofi | film-coated-tablet | 300 mg/{tablet} | oral | 28
    """),
    S("sacubitril + valsartan", "C09DX04", "", "", """
        Entresto | Novartis | film-coated-tablet | 24 mg + 26 mg/{tablet} | oral | 28
        Entresto | Novartis | film-coated-tablet | 49 mg + 51 mg/{tablet} | oral | 56
        Entresto | Novartis | film-coated-tablet | 97 mg + 103 mg/{tablet} | oral | 56
    """),
    S("perindopril + indapamide", "C09BA04", "", "", """
        Noliprel A | Servier | film-coated-tablet | 2.5 mg + 0.625 mg/{tablet} | oral | 30
        Noliprel A forte | Servier | film-coated-tablet | 5 mg + 1.25 mg/{tablet} | oral | 30
        Co-Perineva | KRKA | tablet | 4 mg + 1.25 mg/{tablet} | oral | 30
    """),
    S("losartan + hydrochlorothiazide", "C09DA01", "", "", """
        Lorista H | KRKA | film-coated-tablet | 50 mg + 12.5 mg/{tablet} | oral | 30
        Gizaar | MSD | film-coated-tablet | 50 mg + 12.5 mg/{tablet} | oral | 28
    """),
    S("atorvastatin", "C10AA05", "essential", "O 20 mg", """
        Lipitor | Pfizer | film-coated-tablet | 10 mg/{tablet} | oral | 30
        Lipitor | Pfizer | film-coated-tablet | 20 mg/{tablet} | oral | 30
        Atoris | KRKA | film-coated-tablet | 10 mg/{tablet} | oral | 30
        Atoris | KRKA | film-coated-tablet | 20 mg/{tablet} | oral | 30 90
        Torvacard | Zentiva | film-coated-tablet | 20 mg/{tablet} | oral | 30 90
        Liprimar | Pfizer | film-coated-tablet | 40 mg/{tablet} | oral | 30
        Atorvastatin-Teva | Teva | film-coated-tablet | 40 mg/{tablet} | oral | 30
    """),
    S("rosuvastatin", "C10AA07", "", "O 10 mg", """
        Crestor | AstraZeneca | film-coated-tablet | 10 mg/{tablet} | oral | 28
        Crestor | AstraZeneca | film-coated-tablet | 20 mg/{tablet} | oral | 28
        Roxera | KRKA | film-coated-tablet | 10 mg/{tablet} | oral | 30
        Mertenil | Gedeon Richter | film-coated-tablet | 10 mg/{tablet} | oral | 30
        Rosucard | Zentiva | film-coated-tablet | 20 mg/{tablet} | oral | 30
    """),
    S("simvastatin", "C10AA01", "essential", "O 30 mg", """
        Zocor | MSD | film-coated-tablet | 20 mg/{tablet} | oral | 28
        Vasilip | KRKA | film-coated-tablet | 20 mg/{tablet} | oral | 28
        Simgal | Teva | film-coated-tablet | 20 mg/{tablet} | oral | 28
    """),
    S("fenofibrate", "C10AB05", "", "O 0.2 g", """
        Tricor | Abbott | film-coated-tablet | 145 mg/{tablet} | oral | 30
        Lipantil 200 M | Abbott | capsule-hard | 200 mg/{capsule} | oral | 30
    """),
    S("ezetimibe", "C10AX09", "", "O 10 mg", """
        Ezetrol | MSD | tablet | 10 mg/{tablet} | oral | 28
    """),
    S("moxonidine", "C02AC05", "", "O 0.3 mg", """
        Physiotens | Abbott | film-coated-tablet | 0.2 mg/{tablet} | oral | 28
        Physiotens | Abbott | film-coated-tablet | 0.4 mg/{tablet} | oral | 28
        Moxogamma | Wörwag Pharma | film-coated-tablet | 0.4 mg/{tablet} | oral | 30
    """),
    S("clonidine", "C02AC01", "", "O 0.45 mg; P 0.45 mg", """
        Clofelin | Moskhimpharmpreparaty | tablet | 0.15 mg/{tablet} | oral | 50
    """),
    S("doxazosin", "C02CA04", "", "O 4 mg", """
        Cardura | Pfizer | tablet | 2 mg/{tablet} | oral | 30
        Kamiren | KRKA | tablet | 4 mg/{tablet} | oral | 30
    """),
    S("methyldopa", "C02AB01", "essential", "O 1 g", """
        Dopegyt | Egis | tablet | 250 mg/{tablet} | oral | 50
    """),
    S("pentoxifylline", "C04AD03", "", "O 1 g; P 0.3 g", """
        Trental | Sanofi | prolonged-release-tablet | 400 mg/{tablet} | oral | 20
        Trental | Sanofi | solution-for-injection | 100 mg/5 mL | intravenous | 5{ampoule}
        Pentoxifylline-Darnitsa | Darnitsa | solution-for-injection | 100 mg/5 mL | intravenous | 10{ampoule}
    """),
    S("diosmin", "C05CA03", "otc", "", """
        Phlebodia 600 | Innothera | film-coated-tablet | 600 mg/{tablet} | oral | 15 30
        Venarus | Obolenskoye | film-coated-tablet | 500 mg/{tablet} | oral | 30
    """),
    S("epinephrine", "C01CA24", "essential", "P 0.5 mg", """
        Adrenaline-Darnitsa | Darnitsa | solution-for-injection | 1 mg/mL | intramuscular subcutaneous intravenous | 10{ampoule}
    """),
    S("norepinephrine", "C01CA03", "essential", "P 6 mg", """
        Norepinephrine Agetan | Laboratoire Aguettant | concentrate-for-solution-for-infusion | 8 mg/4 mL | intravenous | 10{ampoule}
    """),
    S("dopamine", "C01CA04", "essential", "P 0.5 g", """
        Dopamine-Darnitsa | Darnitsa | concentrate-for-solution-for-infusion | 200 mg/5 mL | intravenous | 10{ampoule}
    """),
    # --- D: dermatologicals -------------------------------------------------------------------
    S("clotrimazole", "D01AC01", "otc", "", """
        Candid | Glenmark | cream | 10 mg/g | cutaneous | 20g
        Clotrimazole-Akrikhin | Akrikhin | ointment | 10 mg/g | cutaneous | 20g
        Canesten | Bayer | cream | 10 mg/g | cutaneous | 20g
    """),
    S("terbinafine", "D01AE15", "otc", "", """
        Lamisil | Novartis | cream | 10 mg/g | cutaneous | 15g 30g
        Exifin | Dr. Reddy's Laboratories | cream | 10 mg/g | cutaneous | 15g
    """),
    S("fusidic acid", "D06AX01", "", "", """
        Fucidin | LEO Pharma | cream | 20 mg/g | cutaneous | 15g
        Fusiderm | Jadran | cream | 20 mg/g | cutaneous | 15g
    """),
    S("mupirocin", "D06AX09", "", "", """
        Bactroban | GlaxoSmithKline | ointment | 20 mg/g | cutaneous | 15g
    """),
    S("mometasone", "D07AC13", "", "", """
        Elocom | Organon | cream | 1 mg/g | cutaneous | 15g 30g
        Uniderm | Pharmstandard | cream | 1 mg/g | cutaneous | 15g
    """),
    S("clobetasol", "D07AD01", "", "", """
        Dermovate | GlaxoSmithKline | cream | 0.5 mg/g | cutaneous | 25g
    """),
    S("dexpanthenol", "D03AX03", "otc", "", """
        Bepanthen | Bayer | cream | 50 mg/g | cutaneous | 30g
        Bepanthen | Bayer | ointment | 50 mg/g | cutaneous | 30g
        Pantoderm | Akrikhin | ointment | 50 mg/g | cutaneous | 30g
    """),
    S("benzoyl peroxide", "D10AE01", "otc", "", """
        Baziron AC | Galderma | gel | 50 mg/g | cutaneous | 40g
    """),
    S("adapalene", "D10AD03", "", "", """
        Differin | Galderma | gel | 1 mg/g | cutaneous | 30g
    """),
    # --- G: genito-urinary system and sex hormones --------------------------------------------
    S("tamsulosin", "G04CA02", "", "O 0.4 mg", """
        Omnic | Astellas | modified-release-capsule | 0.4 mg/{capsule} | oral | 30
        Focusin | Zentiva | modified-release-capsule | 0.4 mg/{capsule} | oral | 30
        Tamsol | Nobel Ilac | modified-release-capsule | 0.4 mg/{capsule} | oral | 30
    """),
    S("finasteride", "G04CB01", "", "O 5 mg", """
        Proscar | Organon | film-coated-tablet | 5 mg/{tablet} | oral | 28
        Penester | Zentiva | film-coated-tablet | 5 mg/{tablet} | oral | 30
    """),
    S("sildenafil", "G04BE03", "", "O 50 mg", """
        Viagra | Pfizer | film-coated-tablet | 50 mg/{tablet} | oral | 4
        Viagra | Pfizer | film-coated-tablet | 100 mg/{tablet} | oral | 4
        Dynamico | Teva | film-coated-tablet | 100 mg/{tablet} | oral | 4
    """),
    S("tadalafil", "G04BE08", "", "O 10 mg", """
        Cialis | Eli Lilly | film-coated-tablet | 20 mg/{tablet} | oral | 2 4
        Cialis | Eli Lilly | film-coated-tablet | 5 mg/{tablet} | oral | 28
    """),
    S("solifenacin", "G04BD08", "", "O 5 mg", """
        Vesicare | Astellas | film-coated-tablet | 5 mg/{tablet} | oral | 30
    """),
    S("progesterone", "G03DA04", "", "O 0.3 g; V 90 mg", """
        Utrogestan | Besins Healthcare | capsule-soft | 100 mg/{capsule} | oral vaginal | 30
        Utrogestan | Besins Healthcare | capsule-soft | 200 mg/{capsule} | oral vaginal | 14
    """),
    S("dydrogesterone", "G03DB01", "", "O 10 mg", """
        Duphaston | Abbott | film-coated-tablet | 10 mg/{tablet} | oral | 20
    """),
    S("levonorgestrel + ethinylestradiol", "G03AA07", "", "", """
        Microgynon | Bayer | coated-tablet | 0.15 mg + 0.03 mg/{tablet} | oral | 21 63
        Rigevidon | Gedeon Richter | coated-tablet | 0.15 mg + 0.03 mg/{tablet} | oral | 21 63
    """),
    S("metronidazole", "G01AF01", "", "V 0.5 g", """
        Flagyl | Sanofi | vaginal-tablet | 500 mg/{tablet} | vaginal | 10
    """),
    # --- H: systemic hormonal preparations ----------------------------------------------------
    S("levothyroxine sodium", "H03AA01", "essential", "O 0.15 mg", """
        L-Thyroxin | Berlin-Chemie | tablet | 50 ug/{tablet} | oral | 50
        L-Thyroxin | Berlin-Chemie | tablet | 100 ug/{tablet} | oral | 50
        Euthyrox | Merck | tablet | 50 ug/{tablet} | oral | 100
        Euthyrox | Merck | tablet | 100 ug/{tablet} | oral | 100
        Bagothyrox | Bago | tablet | 100 ug/{tablet} | oral | 100
    """),
    S("thiamazole", "H03BB02", "essential", "O 10 mg", """
        Tyrosol | Merck | film-coated-tablet | 5 mg/{tablet} | oral | 50
        Mercazolil | Akrikhin | tablet | 5 mg/{tablet} | oral | 50
    """),
    S("prednisolone", "H02AB06", "essential", "O 10 mg; P 10 mg", """
        Prednisolon | Gedeon Richter | tablet | 5 mg/{tablet} | oral | 100
        Prednisolone-Darnitsa | Darnitsa | solution-for-injection | 30 mg/mL | intravenous intramuscular | 3{ampoule}
        Medopred | Medochemie | tablet | 5 mg/{tablet} | oral | 30
    """),
    S("methylprednisolone", "H02AB04", "", "O 7.5 mg; P 20 mg", """
        Medrol | Pfizer | tablet | 4 mg/{tablet} | oral | 30
        Medrol | Pfizer | tablet | 16 mg/{tablet} | oral | 50
        Solu-Medrol | Pfizer | powder-for-solution-for-injection | 250 mg/{vial} | intravenous intramuscular | 1{vial}
        Metypred | Orion | tablet | 4 mg/{tablet} | oral | 30
    """),
    S("dexamethasone", "H02AB02", "essential", "O 1.5 mg; P 1.5 mg", """
        Dexamethasone-KRKA | KRKA | solution-for-injection | 4 mg/mL | intravenous intramuscular | 25{ampoule}
        Dexamethasone-Darnitsa | Darnitsa | solution-for-injection | 4 mg/mL | intravenous intramuscular | 5{ampoule}
        Dexamethasone-Nycomed | Takeda | tablet | 0.5 mg/{tablet} | oral | 56
    """),
    S("hydrocortisone", "H02AB09", "essential", "O 30 mg; P 30 mg", """
        Solu-Cortef | Pfizer | powder-for-solution-for-injection | 100 mg/{vial} | intravenous intramuscular | 1{vial}
    """),
    # --- J: antiinfectives for systemic use ---------------------------------------------------
    S("amoxicillin", "J01CA04", "essential", "O 1.5 g; P 3 g", """
        Flemoxin Solutab | Astellas | dispersible-tablet | 250 mg/{tablet} | oral | 20
        Flemoxin Solutab | Astellas | dispersible-tablet | 500 mg/{tablet} | oral | 20
        Flemoxin Solutab | Astellas | dispersible-tablet | 1000 mg/{tablet} | oral | 20
        Amoxil | GlaxoSmithKline | capsule-hard | 500 mg/{capsule} | oral | 20
        Ospamox | Sandoz | film-coated-tablet | 500 mg/{tablet} | oral | 12
        Ospamox | Sandoz | powder-for-oral-suspension | 250 mg/5 mL | oral | 60mL
        Amoksisilin-Deva | Deva | capsule-hard | 500 mg/{capsule} | oral | 16
        Hiconcil | KRKA | capsule-hard | 250 mg/{capsule} | oral | 16
    """),
    S("amoxicillin + clavulanic acid", "J01CR02", "essential", "O 1.5 g; P 3 g", """
        Augmentin | GlaxoSmithKline | film-coated-tablet | 875 mg + 125 mg/{tablet} | oral | 14
        Augmentin | GlaxoSmithKline | film-coated-tablet | 500 mg + 125 mg/{tablet} | oral | 14
        Augmentin | GlaxoSmithKline | powder-for-oral-suspension | 400 mg + 57 mg/5 mL | oral | 70mL
        Amoksiklav | Sandoz | film-coated-tablet | 875 mg + 125 mg/{tablet} | oral | 14
        Amoksiklav | Sandoz | film-coated-tablet | 500 mg + 125 mg/{tablet} | oral | 15
        Flemoklav Solutab | Astellas | dispersible-tablet | 875 mg + 125 mg/{tablet} | oral | 14
        Augmentin | GlaxoSmithKline | powder-for-solution-for-injection | 1000 mg + 200 mg/{vial} | intravenous | 10{vial}
        Klamoks | Bilim Ilac | film-coated-tablet | 875 mg + 125 mg/{tablet} | oral | 10 14
    """),
    S("ampicillin", "J01CA01", "essential", "O 2 g; P 6 g", """
        Ampicillin-KMP | Kievmedpreparat | powder-for-solution-for-injection | 1000 mg/{vial} | intravenous intramuscular | 50{vial}
    """),
    S("benzylpenicillin", "J01CE01", "essential", "P 3.6 g", """
        Benzylpenicillin-Sandoz | Sandoz | powder-for-solution-for-injection | 1000000 [IU]/{vial} | intramuscular intravenous | 50{vial}
    """),
    S("cefazolin", "J01DB04", "essential", "P 3 g", """
        Cefazolin-Elfa | Elfa | powder-for-solution-for-injection | 1000 mg/{vial} | intravenous intramuscular | 50{vial}
    """),
    S("ceftriaxone", "J01DD04", "essential", "P 2 g", """
        Rocephin | Roche | powder-for-solution-for-injection | 1000 mg/{vial} | intravenous intramuscular | 1{vial}
        Ceftriaxone-KMP | Kievmedpreparat | powder-for-solution-for-injection | 1000 mg/{vial} | intravenous intramuscular | 1{vial} 50{vial}
        Lendacin | Lek | powder-for-solution-for-injection | 1000 mg/{vial} | intravenous intramuscular | 1{vial}
        Ceftriaxone-Deva | Deva | powder-for-solution-for-injection | 500 mg/{vial} | intravenous intramuscular | 1{vial}
    """),
    S("cefuroxime", "J01DC02", "", "O 0.5 g; P 3 g", """
        Zinnat | GlaxoSmithKline | film-coated-tablet | 250 mg/{tablet} | oral | 10
        Zinnat | GlaxoSmithKline | film-coated-tablet | 500 mg/{tablet} | oral | 10
        Zinacef | GlaxoSmithKline | powder-for-solution-for-injection | 750 mg/{vial} | intravenous intramuscular | 1{vial}
        Aksef | Lupin | film-coated-tablet | 500 mg/{tablet} | oral | 10
    """),
    S("cefixime", "J01DD08", "", "O 0.4 g", """
        Suprax Solutab | Astellas | dispersible-tablet | 400 mg/{tablet} | oral | 7
        Pancef | Alkaloid | film-coated-tablet | 400 mg/{tablet} | oral | 6
        Pancef | Alkaloid | granules-for-oral-suspension | 100 mg/5 mL | oral | 50mL
    """),
    S("cefotaxime", "J01DD01", "", "P 4 g", """
        Claforan | Sanofi | powder-for-solution-for-injection | 1000 mg/{vial} | intravenous intramuscular | 1{vial}
    """),
    S("ceftazidime", "J01DD02", "", "P 4 g", """
        Fortum | GlaxoSmithKline | powder-for-solution-for-injection | 1000 mg/{vial} | intravenous intramuscular | 1{vial}
    """),
    S("azithromycin", "J01FA10", "essential", "O 0.3 g; P 0.5 g", """
        Sumamed | Teva | film-coated-tablet | 500 mg/{tablet} | oral | 3
        Sumamed | Teva | capsule-hard | 250 mg/{capsule} | oral | 6
        Sumamed | Teva | powder-for-oral-suspension | 200 mg/5 mL | oral | 20mL
        Azitrox | Pharmstandard | capsule-hard | 500 mg/{capsule} | oral | 3
        Zithromax | Pfizer | film-coated-tablet | 500 mg/{tablet} | oral | 3
        Azro | Deva | film-coated-tablet | 500 mg/{tablet} | oral | 3
    """),
    S("clarithromycin", "J01FA09", "essential", "O 0.5 g; P 1 g", """
        Klacid | Abbott | film-coated-tablet | 250 mg/{tablet} | oral | 14
        Klacid | Abbott | film-coated-tablet | 500 mg/{tablet} | oral | 14
        Fromilid | KRKA | film-coated-tablet | 500 mg/{tablet} | oral | 14
        Klabax | Sun Pharmaceutical | film-coated-tablet | 500 mg/{tablet} | oral | 14
    """),
    S("doxycycline", "J01AA02", "essential", "O 0.1 g; P 0.1 g", """
        Unidox Solutab | Astellas | dispersible-tablet | 100 mg/{tablet} | oral | 10
        Vibramycin | Pfizer | capsule-hard | 100 mg/{capsule} | oral | 10
    """),
    S("ciprofloxacin", "J01MA02", "essential", "O 1 g; P 0.8 g", """
        Ciprinol | KRKA | film-coated-tablet | 500 mg/{tablet} | oral | 10
        Cifran | Sun Pharmaceutical | film-coated-tablet | 500 mg/{tablet} | oral | 10
        Ciprobay | Bayer | film-coated-tablet | 500 mg/{tablet} | oral | 10
        Ciprinol | KRKA | solution-for-infusion | 200 mg/100 mL | intravenous | 1{bottle}
        Ciprofloxacin-Novosel | Novosel | solution-for-infusion | 200 mg/100 mL | intravenous | 1{bottle}
    """),
    S("levofloxacin", "J01MA12", "", "O 0.5 g; P 0.5 g", """
        Tavanic | Sanofi | film-coated-tablet | 500 mg/{tablet} | oral | 5 10
        Glevo | Glenmark | film-coated-tablet | 500 mg/{tablet} | oral | 5 10
        Leflocin | Yuria-Pharm | solution-for-infusion | 500 mg/100 mL | intravenous | 1{bottle}
    """),
    S("moxifloxacin", "J01MA14", "", "O 0.4 g; P 0.4 g", """
        Avelox | Bayer | film-coated-tablet | 400 mg/{tablet} | oral | 5
        Moxin | Nobel Ilac | film-coated-tablet | 400 mg/{tablet} | oral | 7
    """),
    S("nitrofurantoin", "J01XE01", "essential", "O 0.2 g", """
        Furadonin | Olainfarm | tablet | 50 mg/{tablet} | oral | 20
    """),
    S("fosfomycin", "J01XX01", "", "O 3 g", """
        Monural | Zambon | granules-for-oral-solution | 3 g/{sachet} | oral | 1{sachet}
        Urofoscin | Polpharma | granules-for-oral-solution | 3 g/{sachet} | oral | 1{sachet}
    """),
    S("sulfamethoxazole + trimethoprim", "J01EE01", "essential", "", """
        Biseptol | Polpharma | tablet | 400 mg + 80 mg/{tablet} | oral | 20
        Bactrim | Roche | tablet | 400 mg + 80 mg/{tablet} | oral | 20
    """),
    S("gentamicin", "J01GB03", "essential", "P 0.24 g", """
        Gentamicin-Darnitsa | Darnitsa | solution-for-injection | 80 mg/2 mL | intravenous intramuscular | 10{ampoule}
        Gentamicin-KRKA | KRKA | solution-for-injection | 80 mg/2 mL | intravenous intramuscular | 10{ampoule}
    """),
    S("amikacin", "J01GB06", "", "P 1 g", """
        Amikacin-Deva | Deva | solution-for-injection | 500 mg/2 mL | intravenous intramuscular | 1{ampoule}
    """),
    S("vancomycin", "J01XA01", "essential", "P 2 g", """
        Vancomycin-Teva | Teva | powder-for-solution-for-injection | 1000 mg/{vial} | intravenous | 1{vial}
        Edicin | Sandoz | powder-for-solution-for-injection | 1000 mg/{vial} | intravenous | 1{vial}
    """),
    S("meropenem", "J01DH02", "essential", "P 3 g", """
        Meronem | Pfizer | powder-for-solution-for-injection | 1000 mg/{vial} | intravenous | 10{vial}
        Meropenem-Jodas | Jodas Expoim | powder-for-solution-for-injection | 1000 mg/{vial} | intravenous | 1{vial}
    """),
    S("linezolid", "J01XX08", "", "O 1.2 g; P 1.2 g", """
        Zyvox | Pfizer | film-coated-tablet | 600 mg/{tablet} | oral | 10
        Zyvox | Pfizer | solution-for-infusion | 600 mg/300 mL | intravenous | 1{bag}
    """),
    S("clindamycin", "J01FF01", "", "O 1.2 g; P 1.8 g", """
        Dalacin C | Pfizer | capsule-hard | 150 mg/{capsule} | oral | 16
        Dalacin C | Pfizer | solution-for-injection | 300 mg/2 mL | intravenous intramuscular | 1{ampoule}
        Clindamycin-Teva | Teva | capsule-hard | 150 mg/{capsule} | oral | 16
    """),
    S("fluconazole", "J02AC01", "essential", "O 0.2 g; P 0.2 g", """
        Diflucan | Pfizer | capsule-hard | 150 mg/{capsule} | oral | 1
        Diflucan | Pfizer | capsule-hard | 50 mg/{capsule} | oral | 7
        Flucostat | Pharmstandard | capsule-hard | 150 mg/{capsule} | oral | 1
        Mycosyst | Gedeon Richter | capsule-hard | 150 mg/{capsule} | oral | 1
        Fluconazole-Teva | Teva | capsule-hard | 150 mg/{capsule} | oral | 1
    """),
    S("itraconazole", "J02AC02", "", "O 0.2 g", """
        Orungal | Janssen | capsule-hard | 100 mg/{capsule} | oral | 14
        Rumikoz | Mustafa Nevzat | capsule-hard | 100 mg/{capsule} | oral | 15
    """),
    S("aciclovir", "J05AB01", "essential", "O 4 g; P 4 g", """
        Zovirax | GlaxoSmithKline | tablet | 200 mg/{tablet} | oral | 25
        Zovirax | GlaxoSmithKline | tablet | 400 mg/{tablet} | oral | 35
        Acyclovir-Akrikhin | Akrikhin | tablet | 200 mg/{tablet} | oral | 20
        Virolex | KRKA | powder-for-solution-for-injection | 250 mg/{vial} | intravenous | 5{vial}
    """),
    S("valaciclovir", "J05AB11", "", "O 3 g", """
        Valtrex | GlaxoSmithKline | film-coated-tablet | 500 mg/{tablet} | oral | 10 42
        Valvir | Teva | film-coated-tablet | 500 mg/{tablet} | oral | 10
    """),
    S("oseltamivir", "J05AH02", "essential", "O 0.15 g", """
        Tamiflu | Roche | capsule-hard | 75 mg/{capsule} | oral | 10
        Nomides | Pharmstandard | capsule-hard | 75 mg/{capsule} | oral | 10
    """),
    S("isoniazid", "J04AC01", "essential", "O 0.3 g; P 0.3 g", """
        Isoniazid-Lupin | Lupin | tablet | 300 mg/{tablet} | oral | 100
    """),
    S("rifampicin", "J04AB02", "essential", "O 0.6 g; P 0.6 g", """
        Rifampicin-Sandoz | Sandoz | capsule-hard | 300 mg/{capsule} | oral | 100
        Benemicin | Lupin | capsule-hard | 150 mg/{capsule} | oral | 100
    """),
    S("ethambutol", "J04AK02", "essential", "O 1.2 g", """
        Ethambutol-Lupin | Lupin | film-coated-tablet | 400 mg/{tablet} | oral | 100
    """),
    S("pyrazinamide", "J04AK01", "essential", "O 1.5 g", """
        Pyrazinamide-Lupin | Lupin | tablet | 500 mg/{tablet} | oral | 100
    """),
    # --- L: antineoplastic and immunomodulating agents ----------------------------------------
    S("methotrexate", "L04AX03", "essential", "O 2.5 mg; P 2.5 mg", """
        Methotrexate-Ebewe | Ebewe | tablet | 2.5 mg/{tablet} | oral | 50
        Metoject | Medac | solution-for-injection | 15 mg/0.3 mL | subcutaneous | 1{syringe}
    """),
    S("tamoxifen", "L02BA01", "essential", "O 20 mg", """
        Tamoxifen-Ebewe | Ebewe | tablet | 20 mg/{tablet} | oral | 30
        Zitazonium | Egis | tablet | 20 mg/{tablet} | oral | 30
    """),
    S("anastrozole", "L02BG03", "essential", "O 1 mg", """
        Arimidex | AstraZeneca | film-coated-tablet | 1 mg/{tablet} | oral | 28
        Anastrozole-Teva | Teva | film-coated-tablet | 1 mg/{tablet} | oral | 28
    """),
    S("letrozole", "L02BG04", "", "O 2.5 mg", """
        Femara | Novartis | film-coated-tablet | 2.5 mg/{tablet} | oral | 30
        Letrozole-Teva | Teva | film-coated-tablet | 2.5 mg/{tablet} | oral | 30
    """),
    S("capecitabine", "L01BC06", "essential", "", """
        Xeloda | Roche | film-coated-tablet | 500 mg/{tablet} | oral | 120
    """),
    S("azathioprine", "L04AX01", "essential", "O 0.15 g", """
        Imuran | Aspen | film-coated-tablet | 50 mg/{tablet} | oral | 100
    """),
    S("ciclosporin", "L04AD01", "essential", "O 0.25 g; P 0.25 g", """
        Sandimmun Neoral | Novartis | capsule-soft | 100 mg/{capsule} | oral | 50
        Sandimmun Neoral | Novartis | capsule-soft | 25 mg/{capsule} | oral | 50
    """),
    S("mycophenolic acid", "L04AA06", "", "O 2 g", """
        CellCept | Roche | film-coated-tablet | 500 mg/{tablet} | oral | 50
        Myfortic | Novartis | gastro-resistant-tablet | 360 mg/{tablet} | oral | 120
    """),
    S("tacrolimus", "L04AD02", "", "O 5 mg", """
        Prograf | Astellas | capsule-hard | 1 mg/{capsule} | oral | 50
        Advagraf | Astellas | prolonged-release-capsule | 1 mg/{capsule} | oral | 50
    """),
    # --- M: musculo-skeletal system -----------------------------------------------------------
    S("ibuprofen", "M01AE01", "otc essential", "O 1.2 g; P 1.2 g; R 1.2 g", """
        Nurofen | Reckitt Benckiser | coated-tablet | 200 mg/{tablet} | oral | 10 24
        Nurofen Forte | Reckitt Benckiser | coated-tablet | 400 mg/{tablet} | oral | 12
        Nurofen for Children | Reckitt Benckiser | oral-suspension | 100 mg/5 mL | oral | 100mL 200mL
        MIG 400 | Berlin-Chemie | film-coated-tablet | 400 mg/{tablet} | oral | 10 20
        Ibufen | Polpharma | oral-suspension | 100 mg/5 mL | oral | 100mL
        Brufen | Abbott | film-coated-tablet | 400 mg/{tablet} | oral | 30
        Dolven | Deva | oral-suspension | 100 mg/5 mL | oral | 100mL
    """),
    S("diclofenac", "M01AB05", "essential", "O 0.1 g; P 0.1 g; R 0.1 g", """
        Voltaren | Novartis | gastro-resistant-tablet | 50 mg/{tablet} | oral | 20
        Voltaren | Novartis | solution-for-injection | 75 mg/3 mL | intramuscular | 5{ampoule}
        Voltaren | Novartis | suppository | 100 mg/{suppository} | rectal | 5
        Naklofen | KRKA | gastro-resistant-tablet | 50 mg/{tablet} | oral | 20
        Naklofen | KRKA | solution-for-injection | 75 mg/3 mL | intramuscular | 5{ampoule}
        Diclofenac-Akrikhin | Akrikhin | gastro-resistant-tablet | 50 mg/{tablet} | oral | 20
        Dikloron | Deva | solution-for-injection | 75 mg/3 mL | intramuscular | 10{ampoule}
        Ortofen | Irbitsky Khimpharmzavod | gastro-resistant-tablet | 25 mg/{tablet} | oral | 30
    """),
    S("ketorolac", "M01AB15", "", "O 30 mg; P 30 mg", """
        Ketanov | Sun Pharmaceutical | film-coated-tablet | 10 mg/{tablet} | oral | 20
        Ketanov | Sun Pharmaceutical | solution-for-injection | 30 mg/mL | intramuscular intravenous | 10{ampoule}
        Ketorol | Dr. Reddy's Laboratories | film-coated-tablet | 10 mg/{tablet} | oral | 20
        Ketorol | Dr. Reddy's Laboratories | solution-for-injection | 30 mg/mL | intramuscular intravenous | 10{ampoule}
    """),
    S("meloxicam", "M01AC06", "", "O 15 mg; P 15 mg", """
        Movalis | Boehringer Ingelheim | tablet | 7.5 mg/{tablet} | oral | 20
        Movalis | Boehringer Ingelheim | tablet | 15 mg/{tablet} | oral | 20
        Movalis | Boehringer Ingelheim | solution-for-injection | 15 mg/1.5 mL | intramuscular | 3{ampoule}
        Artrosan | Pharmstandard | tablet | 15 mg/{tablet} | oral | 20
        Melox | Nobel Ilac | tablet | 15 mg/{tablet} | oral | 10
    """),
    S("nimesulide", "M01AX17", "", "O 0.2 g", """
        Nise | Dr. Reddy's Laboratories | tablet | 100 mg/{tablet} | oral | 20
        Nimesil | Menarini | granules-for-oral-suspension | 100 mg/{sachet} | oral | 30{sachet}
        Nimulid | Panacea Biotec | tablet | 100 mg/{tablet} | oral | 20
    """),
    S("naproxen", "M01AE02", "", "O 0.5 g; R 0.5 g", """
        Nalgesin | KRKA | film-coated-tablet | 275 mg/{tablet} | oral | 10 20
        Nalgesin Forte | KRKA | film-coated-tablet | 550 mg/{tablet} | oral | 10 20
    """),
    S("celecoxib", "M01AH01", "", "O 0.2 g", """
        Celebrex | Pfizer | capsule-hard | 200 mg/{capsule} | oral | 10 30
        Dilaxa | KRKA | capsule-hard | 200 mg/{capsule} | oral | 10
    """),
    S("etoricoxib", "M01AH05", "", "O 60 mg", """
        Arcoxia | Organon | film-coated-tablet | 60 mg/{tablet} | oral | 7 28
        Arcoxia | Organon | film-coated-tablet | 90 mg/{tablet} | oral | 7 28
    """),
    S("ketoprofen", "M01AE03", "", "O 0.15 g; P 0.15 g; R 0.15 g", """
        Ketonal | Sandoz | capsule-hard | 50 mg/{capsule} | oral | 25
        Ketonal | Sandoz | solution-for-injection | 100 mg/2 mL | intramuscular intravenous | 10{ampoule}
        Flamax | Sotex | solution-for-injection | 100 mg/2 mL | intramuscular intravenous | 10{ampoule}
    """),
    S("aceclofenac", "M01AB16", "", "O 0.2 g", """
        Airtal | Gedeon Richter | film-coated-tablet | 100 mg/{tablet} | oral | 20
    """),
    S("dexketoprofen", "M01AE17", "", "O 75 mg; P 75 mg", """
        Dexalgin | Berlin-Chemie | film-coated-tablet | 25 mg/{tablet} | oral | 10
        Dexalgin | Berlin-Chemie | solution-for-injection | 50 mg/2 mL | intramuscular intravenous | 5{ampoule}
        Arveles | Ufsa Ilac | film-coated-tablet | 25 mg/{tablet} | oral | 20
    """),
    S("allopurinol", "M04AA01", "essential", "O 0.4 g", """
        Allopurinol-Egis | Egis | tablet | 100 mg/{tablet} | oral | 50
        Allopurinol-Egis | Egis | tablet | 300 mg/{tablet} | oral | 30
        Zyloric | Aspen | tablet | 100 mg/{tablet} | oral | 100
    """),
    S("colchicine", "M04AC01", "", "O 1 mg", """
        Colchicum-dispert | Mylan | coated-tablet | 0.5 mg/{tablet} | oral | 20
    """),
    S("febuxostat", "M04AA03", "", "O 80 mg", """
        Adenuric | Menarini | film-coated-tablet | 80 mg/{tablet} | oral | 28
    """),
    S("tolperisone", "M03BX04", "", "O 0.2 g", """
        Mydocalm | Gedeon Richter | film-coated-tablet | 150 mg/{tablet} | oral | 30
        Mydocalm | Gedeon Richter | film-coated-tablet | 50 mg/{tablet} | oral | 30
    """),
    S("tizanidine", "M03BX02", "", "O 12 mg", """
        Sirdalud | Novartis | tablet | 4 mg/{tablet} | oral | 30
        Tizalud | Actavis | tablet | 4 mg/{tablet} | oral | 30
    """),
    S("baclofen", "M03BX01", "", "O 50 mg", """
        Baclosan | Polpharma | tablet | 10 mg/{tablet} | oral | 50
        Baclofen-Teva | Teva | tablet | 25 mg/{tablet} | oral | 50
    """),
    S("alendronic acid", "M05BA04", "", "O 10 mg", """
        Fosamax | Organon | tablet | 70 mg/{tablet} | oral | 4
        Ostalon | Gedeon Richter | tablet | 70 mg/{tablet} | oral | 4
    """),
    S("glucosamine", "M01AX05", "otc", "O 1.5 g", """
        Dona | Rottapharm | powder-for-oral-suspension | 1500 mg/{sachet} | oral | 20{sachet}
    """),
    # --- N: nervous system --------------------------------------------------------------------
    S("paracetamol", "N02BE01", "otc essential", "O 3 g; P 3 g; R 3 g", """
        Panadol | Haleon | film-coated-tablet | 500 mg/{tablet} | oral | 12 24
        Panadol Baby | Haleon | oral-suspension | 120 mg/5 mL | oral | 100mL
        Efferalgan | UPSA | effervescent-tablet | 500 mg/{tablet} | oral | 16
        Efferalgan | UPSA | suppository | 150 mg/{suppository} | rectal | 10
        Perfalgan | Bristol-Myers Squibb | solution-for-infusion | 1000 mg/100 mL | intravenous | 12{vial}
        Paracetamol-Farmak | Farmak | tablet | 500 mg/{tablet} | oral | 10 20
        Tylol | Nobel Ilac | film-coated-tablet | 500 mg/{tablet} | oral | 20
        Calpol | Haleon | oral-suspension | 120 mg/5 mL | oral | 100mL
        Cefekon D | Nizhpharm | suppository | 250 mg/{suppository} | rectal | 10
    """),
    S("metamizole sodium", "N02BB02", "otc", "O 3 g; P 3 g; R 3 g", """
        Analgin | Sopharma | tablet | 500 mg/{tablet} | oral | 20
        Analgin-Darnitsa | Darnitsa | solution-for-injection | 1000 mg/2 mL | intramuscular intravenous | 10{ampoule}
        Baralgin M | Sanofi | tablet | 500 mg/{tablet} | oral | 20
        Novalgin | Sanofi | film-coated-tablet | 500 mg/{tablet} | oral | 20
    """),
    S("acetylsalicylic acid", "N02BA01", "otc", "O 3 g", """
        Aspirin | Bayer | tablet | 500 mg/{tablet} | oral | 20 100
        Upsarin Upsa | UPSA | effervescent-tablet | 500 mg/{tablet} | oral | 16
    """),
    S("morphine", "N02AA01", "narcotic essential", "O 0.1 g; P 30 mg", """
        Morphine-Moskhimpharmpreparaty | Moskhimpharmpreparaty | solution-for-injection | 10 mg/mL | intravenous subcutaneous intramuscular | 5{ampoule}
        MST Continus | Mundipharma | prolonged-release-tablet | 10 mg/{tablet} | oral | 20
        MST Continus | Mundipharma | prolonged-release-tablet | 30 mg/{tablet} | oral | 20
    """),
    S("tramadol", "N02AX02", "narcotic", "O 0.3 g; P 0.3 g; R 0.3 g", """
        Tramal | Grünenthal | capsule-hard | 50 mg/{capsule} | oral | 20
        Tramal | Grünenthal | solution-for-injection | 100 mg/2 mL | intravenous intramuscular | 5{ampoule}
        Tramadol-Zentiva | Zentiva | capsule-hard | 50 mg/{capsule} | oral | 20
        Tramal Retard | Grünenthal | prolonged-release-tablet | 100 mg/{tablet} | oral | 30
    """),
    S("fentanyl", "N02AB03", "narcotic essential", "TD 1.2 mg", """
        Durogesic | Janssen | transdermal-patch | 25 ug/h | transdermal | 5{patch}
        Durogesic | Janssen | transdermal-patch | 50 ug/h | transdermal | 5{patch}
        Fentanyl-Polfa | Polfa Warszawa | solution-for-injection | 0.1 mg/2 mL | intravenous intramuscular | 5{ampoule}
    """),
    S("oxycodone", "N02AA05", "narcotic", "O 75 mg; P 30 mg", """
        OxyContin | Mundipharma | prolonged-release-tablet | 10 mg/{tablet} | oral | 30
        OxyContin | Mundipharma | prolonged-release-tablet | 20 mg/{tablet} | oral | 30
    """),
    S("methadone", "N07BC02", "narcotic essential", "O 25 mg; P 25 mg", """
        Methadone-Martindale | Martindale | oral-solution | 5 mg/5 mL | oral | 100mL 500mL
    """),
    S("buprenorphine", "N07BC01", "psychotropic", "SL 8 mg", """
        Subutex | Indivior | sublingual-tablet | 8 mg/{tablet} | sublingual | 7 28
        Subutex | Indivior | sublingual-tablet | 2 mg/{tablet} | sublingual | 7
    """),
    S("sumatriptan", "N02CC01", "", "O 50 mg; P 6 mg; N 20 mg", """
        Imigran | GlaxoSmithKline | film-coated-tablet | 50 mg/{tablet} | oral | 6
        Imigran | GlaxoSmithKline | film-coated-tablet | 100 mg/{tablet} | oral | 2
        Amigrenin | Veropharm | film-coated-tablet | 50 mg/{tablet} | oral | 2
    """),
    S("carbamazepine", "N03AF01", "essential", "O 1 g", """
        Finlepsin | Teva | tablet | 200 mg/{tablet} | oral | 50
        Finlepsin retard | Teva | prolonged-release-tablet | 400 mg/{tablet} | oral | 50
        Tegretol | Novartis | tablet | 200 mg/{tablet} | oral | 50
        Tegretol CR | Novartis | prolonged-release-tablet | 400 mg/{tablet} | oral | 30
    """),
    S("valproic acid", "N03AG01", "essential", "O 1.5 g; P 1.5 g", """
        Depakine Chrono | Sanofi | prolonged-release-tablet | 500 mg/{tablet} | oral | 30
        Depakine Chrono | Sanofi | prolonged-release-tablet | 300 mg/{tablet} | oral | 100
        Depakine | Sanofi | syrup | 288.2 mg/5 mL | oral | 150mL
        Convulex | G.L. Pharma | gastro-resistant-capsule | 300 mg/{capsule} | oral | 100
    """),
    S("lamotrigine", "N03AX09", "essential", "O 0.3 g", """
        Lamictal | GlaxoSmithKline | tablet | 25 mg/{tablet} | oral | 30
        Lamictal | GlaxoSmithKline | tablet | 100 mg/{tablet} | oral | 30
        Lamolep | Gedeon Richter | tablet | 50 mg/{tablet} | oral | 30
    """),
    S("levetiracetam", "N03AX14", "", "O 1.5 g; P 1.5 g", """
        Keppra | UCB | film-coated-tablet | 500 mg/{tablet} | oral | 30 60
        Keppra | UCB | film-coated-tablet | 1000 mg/{tablet} | oral | 30
        Keppra | UCB | oral-solution | 100 mg/mL | oral | 300mL
        Epiterra | Zentiva | film-coated-tablet | 500 mg/{tablet} | oral | 30
    """),
    S("topiramate", "N03AX11", "", "O 0.3 g", """
        Topamax | Janssen | film-coated-tablet | 25 mg/{tablet} | oral | 28
        Topamax | Janssen | film-coated-tablet | 100 mg/{tablet} | oral | 28
    """),
    S("gabapentin", "N03AX12", "", "O 1.8 g", """
        Neurontin | Pfizer | capsule-hard | 300 mg/{capsule} | oral | 50
        Gabagamma | Wörwag Pharma | capsule-hard | 300 mg/{capsule} | oral | 50
        Tebantin | Gedeon Richter | capsule-hard | 300 mg/{capsule} | oral | 50
    """),
    S("pregabalin", "N03AX16", "", "O 0.3 g", """
        Lyrica | Pfizer | capsule-hard | 75 mg/{capsule} | oral | 14 56
        Lyrica | Pfizer | capsule-hard | 150 mg/{capsule} | oral | 56
        Algerika | Gedeon Richter | capsule-hard | 75 mg/{capsule} | oral | 56
    """),
    S("phenobarbital", "N03AA02", "psychotropic essential", "O 0.1 g; P 0.1 g", """
        Phenobarbital-Biocom | Biocom | tablet | 100 mg/{tablet} | oral | 10
    """),
    S("clonazepam", "N03AE01", "psychotropic", "O 8 mg; P 8 mg", """
        Rivotril | Roche | tablet | 2 mg/{tablet} | oral | 30
        Rivotril | Roche | tablet | 0.5 mg/{tablet} | oral | 50
    """),
    S("levodopa + benserazide", "N04BA02", "essential", "O 0.6 g", """
        Madopar | Roche | tablet | 200 mg + 50 mg/{tablet} | oral | 100
        Madopar HBS | Roche | prolonged-release-capsule | 100 mg + 25 mg/{capsule} | oral | 100
    """),
    S("levodopa + carbidopa", "N04BA02", "essential", "O 0.6 g", """
        Nakom | Lek | tablet | 250 mg + 25 mg/{tablet} | oral | 100
        Sinemet | Organon | tablet | 250 mg + 25 mg/{tablet} | oral | 100
    """),
    S("pramipexole", "N04BC05", "", "O 2.5 mg", """
        Mirapex | Boehringer Ingelheim | tablet | 0.25 mg/{tablet} | oral | 30
        Mirapex | Boehringer Ingelheim | tablet | 1 mg/{tablet} | oral | 30
    """),
    S("trihexyphenidyl", "N04AA01", "", "O 10 mg", """
        Cyclodol | Orion | tablet | 2 mg/{tablet} | oral | 50
    """),
    S("amantadine", "N04BB01", "", "O 0.2 g", """
        PK-Merz | Merz Pharma | film-coated-tablet | 100 mg/{tablet} | oral | 30
    """),
    # The injection is the decanoate depot, whose DDD (P 3.3 mg) is WHO's for haloperidol P.
    S("haloperidol", "N05AD01", "essential", "O 8 mg; P 3.3 mg", """
        Haloperidol-Gedeon Richter | Gedeon Richter | tablet | 5 mg/{tablet} | oral | 50
        Haloperidol Decanoate | Gedeon Richter | solution-for-injection | 50 mg/mL | intramuscular | 5{ampoule}
        Haloperidol-Ratiopharm | Teva | tablet | 1 mg/{tablet} | oral | 50
    """),
    S("chlorpromazine", "N05AA01", "essential", "O 0.3 g; P 0.1 g", """
        Aminazin | Valenta | film-coated-tablet | 100 mg/{tablet} | oral | 10
        Aminazin | Valenta | solution-for-injection | 50 mg/2 mL | intramuscular intravenous | 10{ampoule}
    """),
    S("quetiapine", "N05AH04", "", "O 0.4 g", """
        Seroquel | AstraZeneca | film-coated-tablet | 25 mg/{tablet} | oral | 60
        Seroquel | AstraZeneca | film-coated-tablet | 200 mg/{tablet} | oral | 60
        Ketilept | Egis | film-coated-tablet | 100 mg/{tablet} | oral | 60
    """),
    S("olanzapine", "N05AH03", "", "O 10 mg; P 10 mg", """
        Zyprexa | Eli Lilly | film-coated-tablet | 10 mg/{tablet} | oral | 28
        Egolanza | Egis | film-coated-tablet | 10 mg/{tablet} | oral | 28
    """),
    S("risperidone", "N05AX08", "essential", "O 5 mg", """
        Rispolept | Janssen | film-coated-tablet | 2 mg/{tablet} | oral | 20
        Rispolept | Janssen | film-coated-tablet | 4 mg/{tablet} | oral | 20
        Rileptid | Egis | film-coated-tablet | 2 mg/{tablet} | oral | 60
    """),
    S("aripiprazole", "N05AX12", "", "O 15 mg", """
        Abilify | Otsuka | tablet | 15 mg/{tablet} | oral | 28
        Amdoal | Gedeon Richter | tablet | 15 mg/{tablet} | oral | 30
    """),
    S("clozapine", "N05AH02", "", "O 0.3 g", """
        Azaleptin | Organica | tablet | 100 mg/{tablet} | oral | 50
        Leponex | Mylan | tablet | 100 mg/{tablet} | oral | 50
    """),
    S("diazepam", "N05BA01", "psychotropic essential", "O 10 mg; P 10 mg; R 10 mg", """
        Relanium | Polfa Warszawa | solution-for-injection | 10 mg/2 mL | intravenous intramuscular | 50{ampoule}
        Sibazon | Organica | tablet | 5 mg/{tablet} | oral | 20
        Valium | Roche | tablet | 5 mg/{tablet} | oral | 25
        Seduxen | Gedeon Richter | tablet | 5 mg/{tablet} | oral | 20
    """),
    S("alprazolam", "N05BA12", "psychotropic", "O 1 mg", """
        Xanax | Pfizer | tablet | 0.25 mg/{tablet} | oral | 30
        Xanax | Pfizer | tablet | 0.5 mg/{tablet} | oral | 30
        Helex | KRKA | tablet | 0.5 mg/{tablet} | oral | 30
    """),
    S("lorazepam", "N05BA06", "psychotropic", "O 2.5 mg; P 2.5 mg", """
        Lorafen | Polfa Tarchomin | coated-tablet | 1 mg/{tablet} | oral | 25
    """),
    S("bromazepam", "N05BA08", "psychotropic", "O 10 mg", """
        Lexotan | Roche | tablet | 3 mg/{tablet} | oral | 30
    """),
    S("hydroxyzine", "N05BB01", "", "O 75 mg", """
        Atarax | UCB | film-coated-tablet | 25 mg/{tablet} | oral | 25
    """),
    S("zolpidem", "N05CF02", "psychotropic", "O 10 mg", """
        Stilnox | Sanofi | film-coated-tablet | 10 mg/{tablet} | oral | 20
        Sanval | Sandoz | film-coated-tablet | 10 mg/{tablet} | oral | 20
    """),
    S("midazolam", "N05CD08", "psychotropic essential", "O 15 mg; P 15 mg", """
        Dormicum | Roche | solution-for-injection | 5 mg/mL | intravenous intramuscular | 10{ampoule}
        Midazolam-Hameln | Hameln | solution-for-injection | 15 mg/3 mL | intravenous intramuscular | 10{ampoule}
    """),
    S("nitrazepam", "N05CD02", "psychotropic", "O 5 mg", """
        Radedorm | Teva | tablet | 5 mg/{tablet} | oral | 20
    """),
    S("melatonin", "N05CH01", "otc", "O 2 mg", """
        Circadin | Neurim | prolonged-release-tablet | 2 mg/{tablet} | oral | 21
        Melaxen | Unipharm | film-coated-tablet | 3 mg/{tablet} | oral | 24
    """),
    S("amitriptyline", "N06AA09", "essential", "O 75 mg; P 75 mg", """
        Amitriptyline-Nycomed | Takeda | tablet | 25 mg/{tablet} | oral | 50
        Amitriptyline-Grindeks | Grindeks | tablet | 25 mg/{tablet} | oral | 50
    """),
    S("sertraline", "N06AB06", "", "O 50 mg", """
        Zoloft | Pfizer | film-coated-tablet | 50 mg/{tablet} | oral | 28
        Zoloft | Pfizer | film-coated-tablet | 100 mg/{tablet} | oral | 28
        Asentra | KRKA | film-coated-tablet | 50 mg/{tablet} | oral | 28
        Stimuloton | Egis | film-coated-tablet | 50 mg/{tablet} | oral | 30
    """),
    S("fluoxetine", "N06AB03", "essential", "O 20 mg", """
        Prozac | Eli Lilly | capsule-hard | 20 mg/{capsule} | oral | 14 28
        Fluoxetine-Lannacher | Lannacher | capsule-hard | 20 mg/{capsule} | oral | 20
    """),
    S("paroxetine", "N06AB05", "", "O 20 mg", """
        Paxil | GlaxoSmithKline | film-coated-tablet | 20 mg/{tablet} | oral | 30
        Rexetin | Gedeon Richter | film-coated-tablet | 20 mg/{tablet} | oral | 30
    """),
    S("escitalopram", "N06AB10", "", "O 10 mg", """
        Cipralex | Lundbeck | film-coated-tablet | 10 mg/{tablet} | oral | 28
        Cipralex | Lundbeck | film-coated-tablet | 20 mg/{tablet} | oral | 28
        Elicea | KRKA | film-coated-tablet | 10 mg/{tablet} | oral | 28
        Selectra | Actavis | film-coated-tablet | 10 mg/{tablet} | oral | 28
    """),
    S("citalopram", "N06AB04", "", "O 20 mg", """
        Cipramil | Lundbeck | film-coated-tablet | 20 mg/{tablet} | oral | 28
    """),
    S("fluvoxamine", "N06AB08", "", "O 0.1 g", """
        Fevarin | Abbott | film-coated-tablet | 100 mg/{tablet} | oral | 15
    """),
    S("venlafaxine", "N06AX16", "", "O 0.1 g", """
        Velaxin | Egis | tablet | 75 mg/{tablet} | oral | 28
        Efectin ER | Pfizer | prolonged-release-capsule | 75 mg/{capsule} | oral | 28
    """),
    S("duloxetine", "N06AX21", "", "O 60 mg", """
        Cymbalta | Eli Lilly | gastro-resistant-capsule | 60 mg/{capsule} | oral | 28
    """),
    S("mirtazapine", "N06AX11", "", "O 30 mg", """
        Remeron | Organon | film-coated-tablet | 30 mg/{tablet} | oral | 30
        Calixta | KRKA | film-coated-tablet | 30 mg/{tablet} | oral | 30
    """),
    S("agomelatine", "N06AX22", "", "O 25 mg", """
        Valdoxan | Servier | film-coated-tablet | 25 mg/{tablet} | oral | 28
    """),
    S("piracetam", "N06BX03", "", "O 2.4 g; P 6 g", """
        Nootropil | UCB | film-coated-tablet | 800 mg/{tablet} | oral | 30
        Nootropil | UCB | film-coated-tablet | 1200 mg/{tablet} | oral | 20
        Nootropil | UCB | solution-for-injection | 1000 mg/5 mL | intravenous intramuscular | 12{ampoule}
        Lucetam | Egis | film-coated-tablet | 800 mg/{tablet} | oral | 60
    """),
    S("methylphenidate", "N06BA04", "psychotropic", "O 30 mg", """
        Concerta | Janssen | prolonged-release-tablet | 18 mg/{tablet} | oral | 30
        Concerta | Janssen | prolonged-release-tablet | 36 mg/{tablet} | oral | 30
    """),
    S("donepezil", "N06DA02", "", "O 7.5 mg", """
        Aricept | Eisai | film-coated-tablet | 5 mg/{tablet} | oral | 28
        Aricept | Eisai | film-coated-tablet | 10 mg/{tablet} | oral | 28
        Alzepil | Egis | film-coated-tablet | 10 mg/{tablet} | oral | 28
    """),
    S("memantine", "N06DX01", "", "O 20 mg", """
        Akatinol Memantine | Merz Pharma | film-coated-tablet | 10 mg/{tablet} | oral | 30 90
        Ebixa | Lundbeck | film-coated-tablet | 10 mg/{tablet} | oral | 28
    """),
    S("betahistine", "N07CA01", "", "O 24 mg", """
        Betaserc | Abbott | tablet | 16 mg/{tablet} | oral | 30
        Betaserc | Abbott | tablet | 24 mg/{tablet} | oral | 20
        Vestibo | Teva | tablet | 16 mg/{tablet} | oral | 30
    """),
    S("lidocaine", "N01BB02", "essential", "", """
        Lidocaine-Egis | Egis | solution-for-injection | 40 mg/2 mL | intramuscular subcutaneous | 10{ampoule}
        Lidocaine-Darnitsa | Darnitsa | solution-for-injection | 20 mg/2 mL | intramuscular subcutaneous | 10{ampoule}
    """),
    S("bupivacaine", "N01BB01", "essential", "", """
        Marcaine | Aspen | solution-for-injection | 100 mg/20 mL | intravenous | 5{vial}
    """),
    S("ketamine", "N01AX03", "narcotic essential", "", """
        Ketamine-Rotexmedica | Rotexmedica | solution-for-injection | 500 mg/10 mL | intravenous intramuscular | 5{vial}
    """),
    S("propofol", "N01AX10", "essential", "", """
        Diprivan | Aspen | emulsion-for-injection | 200 mg/20 mL | intravenous | 5{ampoule}
        Propofol-Lipuro | B. Braun | emulsion-for-injection | 200 mg/20 mL | intravenous | 5{ampoule}
    """),
    S("naloxone", "V03AB15", "essential", "", """
        Naloxone-Polfa | Polfa Warszawa | solution-for-injection | 0.4 mg/mL | intravenous intramuscular subcutaneous | 10{ampoule}
    """),
    # --- P: antiparasitic products --------------------------------------------------------------
    S("metronidazole", "P01AB01", "essential", "O 2 g; R 2 g", """
        Trichopol | Polpharma | tablet | 250 mg/{tablet} | oral | 20
        Flagyl | Sanofi | film-coated-tablet | 500 mg/{tablet} | oral | 20
    """),
    S("metronidazole", "J01XD01", "essential", "P 1.5 g", """
        Metrogyl | Unique Pharmaceutical | solution-for-infusion | 500 mg/100 mL | intravenous | 1{bottle}
        Metronidazole-Braun | B. Braun | solution-for-infusion | 500 mg/100 mL | intravenous | 10{bottle}
    """),
    S("albendazole", "P02CA03", "essential", "O 0.4 g", """
        Zentel | GlaxoSmithKline | film-coated-tablet | 400 mg/{tablet} | oral | 1
        Nemozol | Ipca | film-coated-tablet | 400 mg/{tablet} | oral | 1
        Nemozol | Ipca | oral-suspension | 200 mg/5 mL | oral | 20mL
    """),
    S("mebendazole", "P02CA01", "essential", "O 0.2 g", """
        Vermox | Gedeon Richter | tablet | 100 mg/{tablet} | oral | 6
    """),
    S("hydroxychloroquine", "P01BA02", "", "O 0.516 g", """
        Plaquenil | Sanofi | film-coated-tablet | 200 mg/{tablet} | oral | 60
        Immard | Ipca | film-coated-tablet | 200 mg/{tablet} | oral | 30
    """),
    # --- R: respiratory system --------------------------------------------------------------
    S("salbutamol", "R03AC02", "essential", "Inhal.aerosol 0.8 mg; Inhal.solution 10 mg", """
        Ventolin | GlaxoSmithKline | pressurised-inhalation | 100 ug/{actuation} | inhalation | 200{actuation}
        Salamol Eco Easi-Breathe | Teva | pressurised-inhalation | 100 ug/{actuation} | inhalation | 200{actuation}
        Ventolin | GlaxoSmithKline | nebuliser-solution | 2.5 mg/2.5 mL | inhalation | 20{ampoule}
        Salbutamol-Teva | Teva | pressurised-inhalation | 100 ug/{actuation} | inhalation | 200{actuation}
    """),
    S("budesonide", "R03BA02", "essential", "Inhal.powder 0.8 mg; Inhal.solution 1.5 mg", """
        Pulmicort | AstraZeneca | nebuliser-suspension | 0.5 mg/2 mL | inhalation | 20{ampoule}
        Pulmicort Turbuhaler | AstraZeneca | inhalation-powder | 200 ug/{actuation} | inhalation | 100{actuation}
        Budenit Steri-Neb | Teva | nebuliser-suspension | 0.5 mg/2 mL | inhalation | 20{ampoule}
    """),
    S("fluticasone", "R03BA05", "", "Inhal.aerosol 0.6 mg", """
        Flixotide | GlaxoSmithKline | pressurised-inhalation | 125 ug/{actuation} | inhalation | 120{actuation}
    """),
    S("salmeterol + fluticasone", "R03AK06", "", "", """
        Seretide | GlaxoSmithKline | pressurised-inhalation | 25 ug + 125 ug/{actuation} | inhalation | 120{actuation}
        Seretide Diskus | GlaxoSmithKline | inhalation-powder | 50 ug + 250 ug/{actuation} | inhalation | 60{actuation}
        Tevacomb | Teva | pressurised-inhalation | 25 ug + 125 ug/{actuation} | inhalation | 120{actuation}
    """),
    S("formoterol + budesonide", "R03AK07", "", "", """
        Symbicort Turbuhaler | AstraZeneca | inhalation-powder | 4.5 ug + 160 ug/{actuation} | inhalation | 120{actuation}
    """),
    S("tiotropium bromide", "R03BB04", "", "Inhal.powder 10 ug", """
        Spiriva | Boehringer Ingelheim | inhalation-powder-hard-capsule | 18 ug/{capsule} | inhalation | 30
    """),
    S("ipratropium bromide", "R03BB01", "", "Inhal.aerosol 0.12 mg", """
        Atrovent N | Boehringer Ingelheim | pressurised-inhalation | 20 ug/{actuation} | inhalation | 200{actuation}
    """),
    S("fenoterol + ipratropium bromide", "R03AL01", "", "", """
        Berodual N | Boehringer Ingelheim | pressurised-inhalation | 50 ug + 21 ug/{actuation} | inhalation | 200{actuation}
        Berodual | Boehringer Ingelheim | nebuliser-solution | 0.5 mg + 0.25 mg/mL | inhalation | 20mL
    """),
    S("montelukast", "R03DC03", "", "O 10 mg", """
        Singulair | Organon | film-coated-tablet | 10 mg/{tablet} | oral | 28
        Singulair | Organon | chewable-tablet | 5 mg/{tablet} | oral | 28
        Singlon | Gedeon Richter | film-coated-tablet | 10 mg/{tablet} | oral | 28
        Monkasta | KRKA | film-coated-tablet | 10 mg/{tablet} | oral | 28
    """),
    S("theophylline", "R03DA04", "", "O 0.4 g", """
        Theotard | KRKA | prolonged-release-capsule | 200 mg/{capsule} | oral | 40
    """),
    S("aminophylline", "R03DA05", "essential", "P 0.6 g", """
        Eufillin-Darnitsa | Darnitsa | solution-for-injection | 240 mg/10 mL | intravenous | 10{ampoule}
    """),
    S("ambroxol", "R05CB06", "otc", "O 0.12 g", """
        Lasolvan | Sanofi | tablet | 30 mg/{tablet} | oral | 20
        Lasolvan | Sanofi | syrup | 15 mg/5 mL | oral | 100mL
        Ambrobene | Teva | tablet | 30 mg/{tablet} | oral | 20
        Ambrohexal | Sandoz | syrup | 30 mg/5 mL | oral | 100mL
        Flavamed | Berlin-Chemie | tablet | 30 mg/{tablet} | oral | 20
    """),
    S("acetylcysteine", "R05CB01", "otc", "O 0.5 g", """
        ACC Long | Sandoz | effervescent-tablet | 600 mg/{tablet} | oral | 10 20
        ACC | Sandoz | effervescent-tablet | 200 mg/{tablet} | oral | 20
        Fluimucil | Zambon | effervescent-tablet | 600 mg/{tablet} | oral | 10
    """),
    S("bromhexine", "R05CB02", "otc", "O 24 mg", """
        Bromhexin 8 Berlin-Chemie | Berlin-Chemie | coated-tablet | 8 mg/{tablet} | oral | 25
        Solvin | Polpharma | tablet | 8 mg/{tablet} | oral | 20
    """),
    S("butamirate", "R05DB13", "otc", "O 25 mg", """
        Sinecod | Haleon | syrup | 7.5 mg/5 mL | oral | 200mL
        Sinecod | Haleon | oral-drops | 5 mg/mL | oral | 20mL
    """),
    S("loratadine", "R06AX13", "otc essential", "O 10 mg", """
        Claritin | Bayer | tablet | 10 mg/{tablet} | oral | 10 30
        Claritin | Bayer | syrup | 5 mg/5 mL | oral | 120mL
        Lorano | Sandoz | tablet | 10 mg/{tablet} | oral | 20
        Klarotadin | Akrikhin | tablet | 10 mg/{tablet} | oral | 10
    """),
    S("desloratadine", "R06AX27", "otc", "O 5 mg", """
        Erius | Organon | film-coated-tablet | 5 mg/{tablet} | oral | 10 30
        Erius | Organon | syrup | 2.5 mg/5 mL | oral | 120mL
        Lordestin | Gedeon Richter | film-coated-tablet | 5 mg/{tablet} | oral | 10
    """),
    S("cetirizine", "R06AE07", "otc", "O 10 mg", """
        Zyrtec | UCB | film-coated-tablet | 10 mg/{tablet} | oral | 7 20
        Zyrtec | UCB | oral-drops | 10 mg/mL | oral | 20mL
        Zodak | Zentiva | film-coated-tablet | 10 mg/{tablet} | oral | 10 30
        Cetrin | Dr. Reddy's Laboratories | film-coated-tablet | 10 mg/{tablet} | oral | 20
        Allertec | Polpharma | film-coated-tablet | 10 mg/{tablet} | oral | 20
    """),
    S("levocetirizine", "R06AE09", "otc", "O 5 mg", """
        Xyzal | UCB | film-coated-tablet | 5 mg/{tablet} | oral | 7 28
        Suprastinex | Egis | film-coated-tablet | 5 mg/{tablet} | oral | 14
    """),
    S("chloropyramine", "R06AC03", "", "O 0.15 g; P 20 mg", """
        Suprastin | Egis | tablet | 25 mg/{tablet} | oral | 20
        Suprastin | Egis | solution-for-injection | 20 mg/mL | intramuscular intravenous | 5{ampoule}
    """),
    S("fexofenadine", "R06AX26", "otc", "O 0.12 g", """
        Telfast | Sanofi | film-coated-tablet | 120 mg/{tablet} | oral | 10
        Telfast | Sanofi | film-coated-tablet | 180 mg/{tablet} | oral | 10
        Fexofast | Nobel Ilac | film-coated-tablet | 180 mg/{tablet} | oral | 20
    """),
    S("clemastine", "R06AA04", "otc", "O 2 mg", """
        Tavegil | Novartis | tablet | 1 mg/{tablet} | oral | 20
    """),
    S("xylometazoline", "R01AA07", "otc", "N 0.8 mg", """
        Otrivin | Haleon | nasal-spray | 1 mg/mL | nasal | 10mL
        Otrivin | Haleon | nasal-drops | 0.5 mg/mL | nasal | 10mL
        Xymelin | Takeda | nasal-spray | 1 mg/mL | nasal | 10mL
        Galazolin | Polfa Warszawa | nasal-drops | 1 mg/mL | nasal | 10mL
    """),
    S("oxymetazoline", "R01AA05", "otc", "N 0.4 mg", """
        Nazivin | Merck | nasal-spray | 0.5 mg/mL | nasal | 10mL
        Nazivin | Merck | nasal-drops | 0.25 mg/mL | nasal | 10mL
    """),
    S("naphazoline", "R01AA08", "otc", "N 0.4 mg", """
        Naphthyzin | Lekko | nasal-drops | 1 mg/mL | nasal | 15mL
    """),
    S("mometasone", "R01AD09", "", "N 0.2 mg", """
        Nasonex | Organon | nasal-spray-suspension | 50 ug/{actuation} | nasal | 120{actuation}
        Nosefrin | Teva | nasal-spray-suspension | 50 ug/{actuation} | nasal | 140{actuation}
    """),
    S("fluticasone", "R01AD08", "", "N 0.2 mg", """
        Flixonase | GlaxoSmithKline | nasal-spray-suspension | 50 ug/{actuation} | nasal | 120{actuation}
    """),
    # --- S: sensory organs -------------------------------------------------------------------
    S("tobramycin", "S01AA12", "", "", """
        Tobrex | Novartis | eye-drops | 3 mg/mL | ocular | 5mL
        Tobrex | Novartis | eye-ointment | 3 mg/g | ocular | 3.5g
    """),
    S("timolol", "S01ED01", "essential", "", """
        Arutimol | Chauvin Ankerpharm | eye-drops | 5 mg/mL | ocular | 5mL
        Timolol-Teva | Teva | eye-drops | 5 mg/mL | ocular | 5mL
    """),
    S("latanoprost", "S01EE01", "", "", """
        Xalatan | Pfizer | eye-drops | 50 ug/mL | ocular | 2.5mL
        Glaumax | Sentiss | eye-drops | 50 ug/mL | ocular | 2.5mL
    """),
    S("ciprofloxacin", "S01AE03", "", "", """
        Ciprolet | Dr. Reddy's Laboratories | eye-drops | 3 mg/mL | ocular | 5mL
    """),
    S("levofloxacin", "S01AE05", "", "", """
        Signicef | Sentiss | eye-drops | 5 mg/mL | ocular | 5mL
        Oftaquix | Santen | eye-drops | 5 mg/mL | ocular | 5mL
    """),
    S("dexamethasone", "S01BA01", "", "", """
        Maxidex | Novartis | eye-drops | 1 mg/mL | ocular | 5mL
        Oftan Dexamethasone | Santen | eye-drops | 1 mg/mL | ocular | 5mL
    """),
    S("tropicamide", "S01FA06", "", "", """
        Mydriacyl | Novartis | eye-drops | 10 mg/mL | ocular | 15mL
    """),
    S("ciprofloxacin + dexamethasone", "S03CA01", "", "", """
        Ciprodex | Novartis | ear-drops | 3 mg + 1 mg/mL | otic | 5mL
    """),
]
# fmt: on

# A unit price (AZN) to start from, by ATC anatomical group, and by kind of presentation.
GROUP_PRICE = {"A": 0.22, "B": 0.35, "C": 0.18, "D": 0.12, "G": 0.5, "H": 0.2, "J": 0.75,
               "L": 2.4, "M": 0.28, "N": 0.3, "P": 0.45, "R": 0.25, "S": 0.9, "V": 1.0}  # fmt: skip
PRESENTATION_PRICE = {"{ampoule}": 3.5, "{vial}": 6.0, "{pen}": 14.0, "{syringe}": 7.5,
                      "{bag}": 9.0, "{bottle}": 4.5, "{patch}": 9.0, "{sachet}": 0.9,
                      "{actuation}": 0.05}  # fmt: skip
VOLUME_PRICE = 0.06  # AZN a mL or g of a liquid, cream or ointment


def _amount(text: str, per_unit: str) -> Amount:
    """A pack: '20' (so many of the strength's unit of presentation), '100mL', '5{ampoule}'."""
    match = re.fullmatch(r"([0-9.]+)(.*)", text)
    assert match, text
    value, unit = match.groups()
    if not unit:
        assert ANNOTATION.fullmatch(per_unit), f"{text}: pack of what? ({per_unit})"
        unit = per_unit
    return Amount(Decimal(value), unit)


def _strength(text: str, count: int) -> tuple[Strength, ...]:
    amounts, _, per = text.rpartition("/")
    parts = amounts.split(" + ")
    assert len(parts) == count, text
    per_amount = Amount.parse(per, Decimal(1))
    return tuple(Strength(Amount.parse(part), per_amount) for part in parts)


def _ddd(spec: str, routes: tuple[str, ...], form: str) -> Amount | None:
    """The DDD of the first of the product's routes WHO gives one for."""
    table = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        route, value, unit = part.split()
        table[route] = Amount(Decimal(value), unit)
    return next((table[r] for r in who_routes(routes, form) if r in table), None)


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _units(pack: Amount) -> Decimal:
    return pack.value


def build() -> list[Entry]:
    """The register's entries, every pack of every product of SUBSTANCES."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible synthetic data, not secrets
    prefixes: dict[str, str] = {}
    items: dict[str, int] = {}
    entries: list[Entry] = []
    serial = 0
    for substance in SUBSTANCES:
        inns = substance.inn.split(" + ")
        flags = set(substance.flags.split())
        for trade, holder, form, strength_text, route_text, packs in substance.lines:
            serial += 1
            strengths = _strength(strength_text, len(inns))
            routes = tuple(route_text.split())
            ingredients = tuple(Ingredient(i, s) for i, s in zip(inns, strengths, strict=True))
            prefix = prefixes.setdefault(holder, f"{GS1_AZERBAIJAN}{len(prefixes) + 1:04d}")
            start = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 7 * 365))
            if "withdrawn" in flags:
                status, start, end = (
                    RegistrationStatus.WITHDRAWN,
                    date(2018, 6, 1),
                    date(2020, 4, 1),
                )
            else:
                # Renewed without limit, as most authorisations are after their first five years.
                unlimited = start < TODAY - timedelta(days=5 * 365) and rng.random() < 0.85
                end = None if unlimited else start + timedelta(days=5 * 365 - 1)
                status = RegistrationStatus.VALID
                if end is not None and end < TODAY:
                    status = RegistrationStatus.EXPIRED
                elif rng.random() < 0.015:
                    status = RegistrationStatus.SUSPENDED
            base = GROUP_PRICE[substance.atc[0]] * (1.0 + rng.random() * 0.6)
            per_unit = strengths[0].per.unit
            if per_unit in PRESENTATION_PRICE:
                base = PRESENTATION_PRICE[per_unit] * (1.0 + rng.random() * 0.6)
            elif not ANNOTATION.fullmatch(per_unit):
                base = VOLUME_PRICE * (1.0 + rng.random())
            for number, pack_text in enumerate(packs.split(), start=1):
                pack = _amount(pack_text, per_unit)
                unit_price = base
                if pack.unit in PRESENTATION_PRICE and per_unit != pack.unit:
                    unit_price = PRESENTATION_PRICE[pack.unit] * (1.0 + rng.random() * 0.6)
                retail = _money(max(0.5, float(_units(pack)) * unit_price))
                item = items[prefix] = items.get(prefix, 0) + 1
                gtins = [_gtin(prefix, item)]
                if rng.random() < 0.05:  # a second GTIN: a relabelled or imported batch
                    item = items[prefix] = item + 1
                    gtins.append(_gtin(prefix, item))
                entries.append(
                    Entry(
                        registration_number=f"AZ-{serial:05d}-{number:02d}",
                        trade_name=trade,
                        ingredients=ingredients,
                        dose_form=form,
                        routes=routes,
                        pack=pack,
                        gtins=tuple(gtins),
                        atc=substance.atc,
                        ddd=_ddd(substance.ddd, routes, form),
                        holder=holder,
                        holder_id=holder_id(holder),
                        status=status,
                        valid_from=start.isoformat(),
                        valid_to=end.isoformat() if end else None,
                        prescription_only="otc" not in flags,
                        controlled=next(
                            (Schedule(f) for f in ("narcotic", "psychotropic") if f in flags), None
                        ),
                        reimbursement="essential" if "essential" in flags else None,
                        reference_price=None,
                        retail_price=retail,
                    )
                )
    return _with_reference_prices(entries)


def _gtin(prefix: str, item: int) -> str:
    payload = f"{prefix}{item:05d}"
    return payload + str(gs1_standard_check_digit(payload))


def _with_reference_prices(entries: list[Entry]) -> list[Entry]:
    """Reimbursed packs get a reference price: the cheapest retail price per unit among the
    packs a pharmacy may substitute for one another, times the pack's units."""
    cheapest: dict[tuple[tuple[str, str, str], str], Decimal] = {}
    for entry in entries:
        if entry.reimbursement and entry.retail_price is not None:
            key = (equivalence(entry.ingredients, entry.dose_form), entry.pack.unit)
            unit = entry.retail_price / entry.pack.value
            cheapest[key] = min(cheapest.get(key, unit), unit)
    priced = []
    for entry in entries:
        if entry.reimbursement and entry.retail_price is not None:
            key = (equivalence(entry.ingredients, entry.dose_form), entry.pack.unit)
            reference = min(entry.retail_price, _money(float(cheapest[key] * entry.pack.value)))
            entry = Entry(**{**_fields(entry), "reference_price": reference})
        priced.append(entry)
    return priced


def _fields(entry: Entry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in Entry.__dataclass_fields__}


def main() -> None:
    """Write the CSV and say what it holds."""
    entries = build()
    OUT.write_text(medicines_csv.dump(entries), "utf-8")
    inns = {i.inn for e in entries for i in e.ingredients}
    print(f"{OUT}: {len(entries)} packs, {len(inns)} INNs, {len({e.holder for e in entries})} "
          f"holders, {plain(Decimal(sum(len(e.gtins) for e in entries)))} GTINs")  # fmt: skip


if __name__ == "__main__":
    main()
