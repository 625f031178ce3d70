"""Load the project's JSON Schemas and validate documents against them.

The schemas live in ``schemas/`` at the repository root and are installed as the
package ``harness.schemas``. They are loaded from the installed package through
:mod:`importlib.resources`; from a checkout without an install (where
``harness.schemas`` is not importable) they are read from ``<repo>/schemas``
next to the ``harness`` folder. Every ``*.json`` file there is a schema whose
``$id`` is ``https://lakehouse-parity.dev/schemas/<name>.json``; new schemas
dropped into that folder are picked up without changes here.

Validation is JSON Schema 2020-12 with two deliberate refinements, both taken
from the iterate contract:

* ``"integer"`` means a JSON number written without a fraction or exponent. The
  contract's number model keeps ``1.0`` a float, so after ``json.loads`` only a
  Python ``int`` (never a ``float``, never a ``bool``) is an integer.
* ``pattern`` follows ECMA-262 where Python's :mod:`re` differs in ways that
  matter for strict checks: ``$`` matches only at the very end (Python's ``$``
  also matches before a final newline) and ``\\d`` / ``\\w`` are ASCII-only.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, cast

import jsonschema.exceptions
import jsonschema.validators
from jsonschema import Draft202012Validator, TypeChecker
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

__all__ = [
    "BASE_URI",
    "SchemaError",
    "SchemaStoreError",
    "check_metaschema",
    "errors",
    "infer",
    "load",
    "names",
    "registry",
    "reload",
    "schema_id",
    "validator",
]

BASE_URI = "https://lakehouse-parity.dev/schemas/"
_PACKAGE = "harness.schemas"
_CHECKOUT_DIR = Path(__file__).resolve().parent.parent / "schemas"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SchemaStoreError(Exception):
    """The schema folder is inconsistent (duplicate ``$id``, bad file, dangling ``$ref``)."""


@dataclass(frozen=True)
class SchemaError:
    """One validation failure: where (``$.a[0].b``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class _Store:
    by_name: Mapping[str, Mapping[str, Any]]
    registry: Registry[Any]
    source: str


# --------------------------------------------------------------------------- loading


def _package_files() -> list[tuple[str, Traversable]] | None:
    try:
        root = importlib.resources.files(_PACKAGE)
    except ModuleNotFoundError:
        return None
    found = [(entry.name, entry) for entry in root.iterdir() if entry.name.endswith(".json")]
    return found or None


def _read_all() -> tuple[list[tuple[str, str]], str]:
    packaged = _package_files()
    if packaged is not None:
        return [(name, entry.read_text(encoding="utf-8")) for name, entry in packaged], _PACKAGE
    if not _CHECKOUT_DIR.is_dir():
        raise SchemaStoreError(
            f"no schemas: {_PACKAGE} is not installed and {_CHECKOUT_DIR} is missing"
        )
    files = sorted(_CHECKOUT_DIR.glob("*.json"))
    return [(p.name, p.read_text(encoding="utf-8")) for p in files], str(_CHECKOUT_DIR)


@functools.cache
def _store() -> _Store:
    texts, source = _read_all()
    by_name: dict[str, Mapping[str, Any]] = {}
    resources: list[tuple[str, Resource[Any]]] = []
    seen_ids: dict[str, str] = {}
    for filename, text in sorted(texts):
        try:
            contents = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaStoreError(f"{source}/{filename}: not JSON: {exc}") from exc
        if not isinstance(contents, dict):
            raise SchemaStoreError(f"{source}/{filename}: a schema must be a JSON object")
        name = filename.removesuffix(".json")
        sid = contents.get("$id")
        if sid != BASE_URI + filename:
            raise SchemaStoreError(
                f"{source}/{filename}: $id must be {BASE_URI + filename!r}, got {sid!r}"
            )
        if sid in seen_ids:
            raise SchemaStoreError(
                f"{source}/{filename}: $id {sid!r} already used by {seen_ids[sid]}"
            )
        seen_ids[sid] = filename
        by_name[name] = contents
        # Registered without "$schema": a $ref into a schema that names its
        # dialect makes jsonschema switch to that dialect's stock validator,
        # which drops the contract's integer and pattern rules below the $ref
        # (an attempt's "iteration": 1.0 passed). Every file is 2020-12 anyway.
        referenced = {key: value for key, value in contents.items() if key != "$schema"}
        resources.append((sid, DRAFT202012.create_resource(referenced)))
    registry: Registry[Any] = Registry().with_resources(resources)
    return _Store(by_name=by_name, registry=registry.crawl(), source=source)


def reload() -> None:
    """Forget every cached schema and validator (after editing the schema folder)."""
    _store.cache_clear()
    _validator.cache_clear()


def names() -> list[str]:
    """The schema names (file stems), sorted."""
    return sorted(_store().by_name)


def registry() -> Registry[Any]:
    """A :class:`referencing.Registry` holding every schema under its ``$id``."""
    return _store().registry


def _resolve_name(name_or_id: str) -> str:
    """Map ``session-record``, ``session-record.json`` or the full ``$id`` to a name."""
    stem = name_or_id
    if stem.startswith(BASE_URI):
        stem = stem[len(BASE_URI) :]
    stem = stem.removesuffix(".json")
    if stem not in _store().by_name:
        raise KeyError(f"unknown schema {name_or_id!r}; known: {', '.join(names())}")
    return stem


def schema_id(name_or_id: str) -> str:
    """The full ``$id`` of a schema."""
    return BASE_URI + _resolve_name(name_or_id) + ".json"


def load(name_or_id: str) -> Mapping[str, Any]:
    """The parsed schema document (do not mutate it)."""
    return _store().by_name[_resolve_name(name_or_id)]


# --------------------------------------------------------------------------- validation


def _is_integer(_checker: TypeChecker, instance: object) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


_SHORTHAND_OUTSIDE = {"d": "[0-9]", "w": "[A-Za-z0-9_]"}
_SHORTHAND_INSIDE = {"d": "0-9", "w": "A-Za-z0-9_"}


@functools.lru_cache(maxsize=512)
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    """Compile an ECMA-262 ``pattern`` keyword for Python's :mod:`re`."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            table = _SHORTHAND_INSIDE if in_class else _SHORTHAND_OUTSIDE
            out.append(table.get(nxt, char + nxt))
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                out.append("[^")
                i += 2
                continue
        elif char == "$":
            char = r"\Z"
        out.append(char)
        i += 1
    return re.compile("".join(out))


def _pattern_keyword(
    validator: Validator, pattern: str, instance: object, schema: Mapping[str, Any]
) -> Iterator[jsonschema.exceptions.ValidationError]:
    if isinstance(instance, str) and not _ecma_regex(pattern).search(instance):
        yield jsonschema.exceptions.ValidationError(f"{instance!r} does not match {pattern!r}")


_extend = cast(Callable[..., type[Validator]], jsonschema.validators.extend)
_ContractValidator: type[Validator] = _extend(
    Draft202012Validator,
    validators={"pattern": _pattern_keyword},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


@functools.lru_cache(maxsize=256)
def _validator(target: str) -> Validator:
    store = _store()
    schema: Mapping[str, Any] = (
        {"$ref": target} if "#" in target else store.by_name[_resolve_name(target)]
    )
    return _ContractValidator(
        schema,
        registry=store.registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def validator(name_or_id: str) -> Validator:
    """A 2020-12 validator for a schema, by name, file name or ``$id``.

    A full ``$id`` with a fragment (``...validate-request.json#/$defs/fill-context``)
    validates against that subschema. Validators are cached.
    """
    if "#" in name_or_id:
        base, fragment = name_or_id.split("#", 1)
        return _validator(schema_id(base) + "#" + fragment)
    return _validator(_resolve_name(name_or_id))


def format_path(parts: Iterable[str | int]) -> str:
    """``["attempts", 0, "error"]`` -> ``$.attempts[0].error``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.fullmatch(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)


def errors(name_or_id: str, instance: object) -> list[SchemaError]:
    """Every validation failure of ``instance`` (sorted by path, then message); [] when valid."""
    found = {
        SchemaError(path=format_path(err.absolute_path), message=readable_message(err))
        for err in validator(name_or_id).iter_errors(cast(Any, instance))
    }
    return sorted(found, key=lambda e: (e.path, e.message))


_SHOWN: Final = 60  # characters of an instance quoted in a message


def readable_message(error: jsonschema.exceptions.ValidationError) -> str:
    """jsonschema's message, without a whole document quoted at its start.

    A field that must be absent (``not: {required: [...]}``, how the schemas
    say "only accepted rows carry an artifact") is named instead.
    """
    forbidden = error.validator_value
    if error.validator == "not" and isinstance(forbidden, dict) and set(forbidden) == {"required"}:
        return "must not have " + ", ".join(f"`{k}`" for k in forbidden["required"]) + " here"
    head = repr(error.instance)
    if len(head) > _SHOWN and error.message.startswith(head):
        return head[: _SHOWN - 1] + "…" + error.message[len(head) :]
    return error.message


def _walk_refs(node: object, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield pointer, value
            elif key not in ("const", "enum", "default", "examples"):
                yield from _walk_refs(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk_refs(item, f"{pointer}/{index}")


def check_metaschema() -> None:
    """Check every schema against the 2020-12 metaschema and resolve every ``$ref``.

    Raises :class:`jsonschema.exceptions.SchemaError` for a schema that is not
    a valid 2020-12 schema, :class:`SchemaStoreError` for a ``$ref`` that does
    not resolve or a schema without ``title``/``description``. (Duplicate or
    misnamed ``$id`` values are already refused when the folder is loaded.)
    """
    store = _store()
    for name, contents in sorted(store.by_name.items()):
        Draft202012Validator.check_schema(dict(contents))
        for key in ("title", "description"):
            if not isinstance(contents.get(key), str) or not contents[key]:
                raise SchemaStoreError(f"{name}.json: missing {key}")
        resolver = store.registry.resolver(base_uri=BASE_URI + name + ".json")
        for where, ref in _walk_refs(contents, ""):
            try:
                resolver.lookup(ref)
            except Unresolvable as exc:
                raise SchemaStoreError(
                    f"{name}.json#{where}: $ref {ref!r} does not resolve"
                ) from exc


# --------------------------------------------------------------------------- inference


def _has(doc: Mapping[str, Any], *keys: str) -> bool:
    return all(key in doc for key in keys)


# Ordered: the first matching rule names the schema. More specific shapes come
# first; later schemas (config, report, reproducer, ...) add their rule here.
_RULES: list[tuple[str, Callable[[Mapping[str, Any]], bool]]] = [
    ("session-record", lambda d: d.get("schema") == "session.iterate.v1"),
    ("fixture-extract-json-case", lambda d: _has(d, "raw", "expected") and "name" in d),
    ("fixture-session-log-roundtrip", lambda d: _has(d, "record_text", "expected_text")),
    ("fixture-session-log-rejection", lambda d: _has(d, "record_text", "why")),
    ("fixture-validate-case", lambda d: _has(d, "request_text", "expected_status")),
    ("extract-json-answer", lambda d: "matched" in d),
    ("validate-error", lambda d: _has(d, "kind", "path", "message")),
    ("validate-report", lambda d: _has(d, "kind", "valid") or _has(d, "valid", "checked")),
    ("iterate-success", lambda d: _has(d, "artifact", "history")),
    ("iterate-failure", lambda d: _has(d, "error", "history")),
    ("history-attempt", lambda d: _has(d, "iteration", "raw") or _has(d, "iteration", "status")),
    ("session-attempt", lambda d: _has(d, "iteration", "verdict_kind")),
    ("roster-worker", lambda d: _has(d, "candidate_id", "available")),
    ("chat-response", lambda d: "choices" in d),
    ("chat-request", lambda d: "messages" in d),
    ("iterate-request", lambda d: _has(d, "prompt", "provider") or _has(d, "prompt", "model")),
    ("validate-request", lambda d: "kind" in d and set(d) <= {"kind", "artifact", "context"}),
    # {"error": "..."} alone: iterate-bad-request, chat-error and probe-error are
    # the same shape, so any of them gives the same verdict.
    ("iterate-bad-request", lambda d: set(d) == {"error"}),
]


def infer(instance: object) -> str | None:
    """Guess which schema a document is meant to satisfy; ``None`` when nothing fits.

    A guess from distinctive keys only (``schema == "session.iterate.v1"``,
    ``matched``, ``kind``+``path``+``message``, ``artifact``+``history``, ...);
    validate against the returned name to know whether the document is right.
    """
    if not isinstance(instance, dict):
        return None
    known = set(_store().by_name)
    for name, rule in _RULES:
        if name in known and rule(instance):
            return name
    return None
