"""Generate src/shafa/fhir/data/summary-elements.json: the elements _summary=true keeps.

FHIR R4 search.html#summary: `_summary=true` returns the elements marked isSummary in the base
StructureDefinitions. Shafa does not carry the R4 StructureDefinitions, so the flags come from the
R4B (4.3.0) models of the PyPI package fhir.resources 8.3.0, whose fields carry
`json_schema_extra={"summary_element_property": True}` for summary elements, backbone elements'
children included. The models are read as source text (with `ast`); nothing is imported, and
fhir.resources is not a dependency of Shafa.

R4B is R4 with a few resource families reworked, so the R4 JSON Schema we validate with
(src/shafa/fhir/data/fhir.schema.json.gz) decides what exists in R4:

- the R4 types R4B dropped (the medicinal-product and substance families, the evidence-synthesis
  resources) and the two it remodelled (Evidence, EvidenceVariable) get a fallback: Resource's
  summary elements (id, meta, implicitRules) and the mandatory elements the R4 schema names (it
  names no primitive ones). They are listed under "fallback" in the file and printed here;
- elsewhere an R4 element the R4B model does not have (a handful, printed when this runs) is kept
  only if it is mandatory;
- names are JSON names: a choice element such as Observation.value[x] is written out as every
  R4 JSON name it may take (valueQuantity, valueString, ...);
- mandatory elements (min >= 1, from the R4 schema's `required` and R4B's required flags) are
  kept too, so that a summary is still a valid resource.

The file maps a resource type, or the path of one of its backbone elements, to the names kept
there: null keeps the element whole (a primitive, a datatype such as HumanName, a reference),
a path names the backbone element whose own entry says which of its children to keep. Paths, not
nesting, because backbone elements may contain themselves (Questionnaire.item.item).

Rerun after changing the source (from the repository root, with the project's virtualenv):

    .venv/bin/python tools/summary_elements.py            # downloads fhir.resources 8.3.0
    .venv/bin/python tools/summary_elements.py DIR        # or reads DIR/fhir/resources/R4B

The download goes through `pip download --no-deps` into a temporary directory.
"""

import ast
import gzip
import json
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from shafa.fhir.resource_types import RESOURCE_TYPES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "src/shafa/fhir/data/fhir.schema.json.gz"
OUTPUT = ROOT / "src/shafa/fhir/data/summary-elements.json"
TOOL = "tools/summary_elements.py"
PACKAGE = "fhir.resources==8.3.0"
# Resource.id, .meta and .implicitRules are summary elements of every resource (R4 resource.html).
RESOURCE_SUMMARY = frozenset({"id", "meta", "implicitRules"})
# Types R4B redefined (R4B's change notes: the evidence resources were remodelled), whose
# R4B flags would be guesses for R4. The medicinal-product and substance families R4B replaced
# are simply absent from it.
REWORKED_IN_R4B = frozenset({"Evidence", "EvidenceVariable"})


@dataclass
class Model:
    """One class of the R4B models: its base, resource type and fields by JSON name."""

    base: str
    resource_type: str | None = None
    fields: set[str] = field(default_factory=set)
    summary: set[str] = field(default_factory=set)
    required: set[str] = field(default_factory=set)
    choices: dict[str, str] = field(default_factory=dict)  # JSON name -> choice prefix
    types: dict[str, str] = field(default_factory=dict)  # JSON name -> model class name


def _type_name(annotation: ast.expr) -> str | None:
    """The model class an annotation names: typing.List[fhirtypes.XType] | None -> X."""
    for node in ast.walk(annotation):
        if isinstance(node, ast.Attribute) and node.attr.endswith("Type"):
            return node.attr.removesuffix("Type")
    return None


def _model(node: ast.ClassDef) -> Model:
    base = node.bases[0]
    model = Model(base=base.attr if isinstance(base, ast.Attribute) else ast.unparse(base))
    for statement in node.body:
        if isinstance(statement, ast.Assign) and ast.unparse(statement.targets[0]) == (
            "__resource_type__"
        ):
            model.resource_type = ast.literal_eval(statement.value)
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.value, ast.Call)):
            continue
        keywords = {k.arg: k.value for k in statement.value.keywords}
        if "alias" not in keywords or "json_schema_extra" not in keywords:
            continue
        name = ast.literal_eval(keywords["alias"])
        extra = ast.literal_eval(keywords["json_schema_extra"])
        if not extra.get("element_property"):
            continue
        model.fields.add(name)
        if extra.get("summary_element_property"):
            model.summary.add(name)
        default = keywords.get("default")
        if (
            (isinstance(default, ast.Constant) and default.value is Ellipsis)
            or extra.get("element_required")
            or extra.get("one_of_many_required")
        ):
            model.required.add(name)
        if "one_of_many" in extra:
            model.choices[name] = extra["one_of_many"]
        type_name = _type_name(statement.annotation)
        if type_name is not None:
            model.types[name] = type_name
    return model


def read_models(r4b: Path) -> dict[str, Model]:
    """Every class of the R4B models, by class name."""
    models = {}
    for source in sorted(r4b.glob("*.py")):
        for node in ast.parse(source.read_text()).body:
            if isinstance(node, ast.ClassDef) and node.bases:
                models[node.name] = _model(node)
    return models


def inherited(models: dict[str, Model], name: str) -> Model:
    """The class with the fields of its bases (Resource.id, BackboneElement.modifierExtension)."""
    own = models[name]
    if own.base not in models:
        return own
    parent = inherited(models, own.base)
    return Model(
        base=own.base,
        resource_type=own.resource_type,
        fields=parent.fields | own.fields,
        summary=parent.summary | own.summary,
        required=parent.required | own.required,
        choices=parent.choices | own.choices,
        types=parent.types | own.types,
    )


class Mismatch(Exception):
    """A backbone element the summary keeps has no R4B class: the type cannot be taken."""


def _ref(prop: dict) -> str | None:
    ref = prop.get("$ref") or (prop.get("items") or {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def summary_table(
    res_type: str, models: dict[str, Model], definitions: dict[str, dict], notes: list[str]
) -> dict[str, dict[str, str | None]]:
    """The entries for one resource type and its backbone elements, from its R4B model.

    An R4 element the R4B model lacks is kept only if mandatory, and noted.
    """
    datatypes = {
        name[:1].upper() + name[1:]
        for name in definitions
        if "_" not in name and name not in RESOURCE_TYPES
    }
    root = next(n for n, m in models.items() if m.resource_type == res_type)
    table: dict[str, dict[str, str | None]] = {}
    paths: dict[str, str] = {}  # R4 schema definition -> the element path it was first met at
    queue = [(res_type, res_type, root)]
    while queue:
        path, definition_name, class_name = queue.pop(0)
        definition = definitions[definition_name]
        model = inherited(models, class_name)
        names = {n for n in definition["properties"] if not n.startswith("_")} - {"resourceType"}
        if unknown := names - model.fields:
            notes.append(f"{path}: {', '.join(sorted(unknown))} unknown to R4B")
        wanted = model.summary | model.required
        # A choice element's JSON names in R4: its prefix and a datatype (valueQuantity, ...).
        prefixes = {model.choices[n] for n in wanted if n in model.choices}
        kept = (wanted & names) | {
            n for n in names for p in prefixes if n.startswith(p) and n[len(p) :] in datatypes
        }
        kept |= set(definition.get("required") or ()) - {"resourceType"}
        entry: dict[str, str | None] = {}
        for name in sorted(kept):
            target = _ref(definition["properties"][name])
            if target is None or not target.startswith(f"{res_type}_"):
                entry[name] = None  # a primitive or a datatype: kept whole
                continue
            if target not in paths:
                if name not in model.types:
                    raise Mismatch(f"{path}.{name} has no R4B class")
                paths[target] = f"{path}.{name}"
                queue.append((paths[target], target, model.types[name]))
            entry[name] = paths[target]
        table[path] = entry
    return table


def fallback(res_type: str, definitions: dict[str, dict]) -> dict[str, str | None]:
    """For a type without trusted flags: Resource's summary elements and the mandatory ones."""
    required = set(definitions[res_type].get("required") or ()) - {"resourceType"}
    return dict.fromkeys(sorted(RESOURCE_SUMMARY | required))


def download(into: Path) -> Path:
    """Download the fhir.resources wheel with pip and unpack it; the folder holding fhir/."""
    subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(into), PACKAGE],
        check=True,
    )
    (wheel,) = into.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(into / "unpacked")
    return into / "unpacked"


def _dumps(data: dict) -> str:
    """JSON with one line for each element path, so that a change shows as a small diff."""
    lines = [
        f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in data["elements"].items()
    ]
    return (
        "{\n"
        f' "source": {json.dumps(data["source"])},\n'
        f' "fallback": {json.dumps(data["fallback"])},\n'
        ' "elements": {\n' + ",\n".join(lines) + "\n }\n}\n"
    )


def generate(source: Path) -> None:
    """Write OUTPUT from the R4B models under source, and say what was left to the fallback."""
    models = read_models(source / "fhir/resources/R4B")
    definitions = json.loads(gzip.decompress(SCHEMA.read_bytes()))["definitions"]
    in_r4b = {m.resource_type for m in models.values() if m.resource_type}
    elements: dict[str, dict[str, str | None]] = {}
    left_out: dict[str, str] = {}
    notes: list[str] = []
    for res_type in sorted(RESOURCE_TYPES):
        if res_type not in in_r4b:
            left_out[res_type] = "not in R4B"
        elif res_type in REWORKED_IN_R4B:
            left_out[res_type] = "reworked in R4B"
        else:
            try:
                elements |= summary_table(res_type, models, definitions, notes)
                continue
            except Mismatch as mismatch:
                left_out[res_type] = str(mismatch)
        elements[res_type] = fallback(res_type, definitions)
    data = {
        "source": f"{PACKAGE} (FHIR R4B) checked against the R4 JSON Schema, by {TOOL}",
        "fallback": sorted(left_out),
        "elements": elements,
    }
    OUTPUT.write_text(_dumps(data))
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    print(f"{len(left_out)} of {len(RESOURCE_TYPES)} types get the fallback:")
    for res_type, why in left_out.items():
        print(f"  {res_type}: {why}")
    print("R4 elements unknown to R4B, kept only if mandatory:")
    for note in notes:
        print(f"  {note}")


def main() -> None:
    if len(sys.argv) > 1:
        generate(Path(sys.argv[1]))
        return
    with tempfile.TemporaryDirectory() as scratch:
        generate(download(Path(scratch)))


if __name__ == "__main__":
    main()
