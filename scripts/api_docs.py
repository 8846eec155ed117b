"""Write the API's OpenAPI schema to docs/api/openapi.yaml and its reference into docs/api.rst.

    .venv/bin/python scripts/api_docs.py          # regenerate both
    .venv/bin/python scripts/api_docs.py --check  # exit 1 when either is out of date (a test runs this check)

The schema is what ``/api/badges/v1/schema/`` serves on the demo host; the reference section of
docs/api.rst (between the generated-section markers) is rendered from it: parameters, response
fields and the example responses the views declare.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "docs" / "api" / "openapi.yaml"
PAGE_FILE = ROOT / "docs" / "api.rst"
BEGIN = ".. BEGIN GENERATED REFERENCE (scripts/api_docs.py)"
END = ".. END GENERATED REFERENCE"


def served_schema(fmt: str) -> str:
    from django.test import Client

    response = Client().get("/api/badges/v1/schema/", {"format": fmt})
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return components[schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        return _resolve(schema["allOf"][0], components)
    return schema


def _type_of(schema: dict[str, Any], components: dict[str, Any]) -> str:
    schema = _resolve(schema, components)
    if "enum" in schema:
        return " | ".join(f"``{value}``" for value in schema["enum"] if value not in ("", None))
    kind = schema.get("type", "object")
    if kind == "array":
        return "list"
    return kind + (f" ({schema['format']})" if "format" in schema else "")


def _fields(schema: dict[str, Any], components: dict[str, Any], prefix: str = "") -> list[tuple[str, str, str]]:
    rows = []
    schema = _resolve(schema, components)
    for name, prop in schema.get("properties", {}).items():
        nullable = ", or null" if prop.get("nullable") else ""
        rows.append((f"{prefix}{name}", _type_of(prop, components) + nullable, prop.get("description", "")))
        target = _resolve(prop, components)
        if target.get("type") == "array":
            rows += _fields(target["items"], components, f"{prefix}{name}[].")
        elif "properties" in target:
            rows += _fields(target, components, f"{prefix}{name}.")
    return rows


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell or '-'}".rstrip() for cell in row[1:]]
    return [*lines, ""]


def _operation(method: str, path: str, operation: dict[str, Any], components: dict[str, Any]) -> list[str]:
    title = f"{method.upper()} {path}"
    lines = [title, "~" * len(title), "", operation.get("description", ""), ""]
    params = [(f"``{p['name']}``", _type_of(p["schema"], components), p.get("description", "").replace("\n", " "))
              for p in operation.get("parameters", [])]
    if params:
        lines += ["Query parameters:", "", *_table(("Parameter", "Type", "Meaning"), params)]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        fields = [(f"``{name}``", kind, text) for name, kind, text in _fields(body["schema"], components)]
        lines += ["Request body:", "", *_table(("Field", "Type", "Meaning"), fields)]
    content = operation["responses"]["200"].get("content", {}).get("application/json", {})
    fields = [(f"``{name}``", kind, text) for name, kind, text in _fields(content.get("schema", {}), components)]
    if fields:
        lines += ["Response fields (200):", "", *_table(("Field", "Type", "Meaning"), fields)]
    for example in content.get("examples", {}).values():
        lines += [f"Example response ({example.get('summary', '')}):", "", ".. code-block:: json", ""]
        lines += ["   " + line for line in json.dumps(example["value"], indent=2).splitlines()]
        lines.append("")
    return lines


def reference(schema: dict[str, Any]) -> str:
    components = schema.get("components", {}).get("schemas", {})
    lines = [BEGIN, ""]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            lines += _operation(method, path, operation, components)
    return "\n".join([*lines, END])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether the files are up to date")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "credentials_project.settings")
    import django

    django.setup()
    schema_text = served_schema("yaml")
    page = PAGE_FILE.read_text()
    before, _, rest = page.partition(BEGIN)
    _, _, after = rest.partition(END)
    new_page = before + reference(json.loads(served_schema("json"))) + after
    stale = [path for path, text in ((SCHEMA_FILE, schema_text), (PAGE_FILE, new_page))
             if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run .venv/bin/python scripts/api_docs.py")
        return 1 if stale else 0
    SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_FILE.write_text(schema_text)
    PAGE_FILE.write_text(new_page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
