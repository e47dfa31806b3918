"""The REST contract, ``openapi.yaml``, as checks any side of the wire can call.

The server checks every request here before any engine call; the tests check every request and
response they exchange; the kernel's REST transport can check the same in one line
(``validate_request(...)`` before sending, ``validate_response(...)`` on the answer).

This is a small validator over ``openapi-schema-validator`` (JSON Schema with OpenAPI 3.0's
``nullable``) rather than openapi-core's request validator: openapi-core finds the operation by
matching the URL against path templates whose parameters never span a ``/``, but Rucio names do
(``/datasets/{scope}/{name}`` with ``name = a/b.root``); here the ``name`` parameter may.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml
from openapi_schema_validator import OAS30Validator

from .models import InvalidDID, InvalidRequest, PayloadTooLarge, Wp5Error

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
API_PREFIX = "/wp5/api"

# A request body larger than this is refused (413) before it is parsed.
MAX_BODY_BYTES = 64 * 1024
# Deeper nesting than this is refused (400) before it is parsed: json.loads recurses.
MAX_BODY_DEPTH = 32

# What a server may answer to a request the contract refuses.
REFUSALS = (400, 403, 413)
# Path parameters that may hold slashes (Rucio names); every other one is one path segment.
_SLASHED_PARAMETERS = frozenset({"name"})
# Where a refusal is about a DID it says so (invalid_did), as DID.parse does.
_DID_FIELDS = frozenset({"scope", "name", "did"})
# Query parameters Jupyter itself reads (authentication), never part of our operations.
_JUPYTER_QUERY = frozenset({"token", "_xsrf"})

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_TRUE = ("1", "true", "yes")
_FALSE = ("0", "false", "no")


class ContractError(AssertionError):
    """A response (or a request a client is about to send) that breaks the contract."""


NO_BODY: Any = object()
"""Stands for a request or response without a body (not the same as a JSON ``null``)."""


@dataclass
class _Parameter:
    name: str
    where: str
    required: bool
    validator: OAS30Validator
    kind: str


@dataclass
class Operation:
    """One method on one path of the contract."""

    method: str
    template: str
    regex: re.Pattern[str]
    parameters: list[_Parameter] = field(default_factory=list)
    body: OAS30Validator | None = None
    body_required: bool = False
    responses: dict[str, OAS30Validator | None] = field(default_factory=dict)


def parse_body(raw: bytes | None) -> Any:
    """Parse a request body within the limits: :data:`NO_BODY` when empty, else the JSON value.

    Raises :class:`InvalidRequest` (400) when it is nested deeper than :data:`MAX_BODY_DEPTH` or is
    not JSON, :class:`PayloadTooLarge` (413) when it is longer than :data:`MAX_BODY_BYTES`.
    """
    if not raw:
        return NO_BODY
    # Depth first, over the first bytes only: a deep body says so within MAX_BODY_DEPTH bytes.
    if _too_deep(raw[: MAX_BODY_BYTES + 1]):
        raise InvalidRequest(f"the request body is nested deeper than {MAX_BODY_DEPTH} levels")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidRequest("the request body is not valid JSON") from None


def _too_deep(raw: bytes) -> bool:
    """Whether ``raw`` nests arrays and objects deeper than :data:`MAX_BODY_DEPTH` (brackets in
    strings are text)."""
    depth = 0
    for byte in _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        if depth > MAX_BODY_DEPTH:
            return True
    return False


def find_operation(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    """The operation serving ``method path`` (path relative to ``/wp5/api``, still URL-encoded),
    with its decoded path parameters; None when the contract has no such operation."""
    path = "/" + path.lstrip("/")
    for op in _operations():
        if op.method != method.lower():
            continue
        match = op.regex.fullmatch(path)
        if match:
            return op, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


def validate_request(
    method: str, path: str, params: dict[str, Any] | None = None, body: Any = NO_BODY
) -> Operation | None:
    """Check one request; raise :class:`InvalidRequest` naming the first thing wrong.

    ``path`` is relative to ``/wp5/api`` and URL-encoded; ``params`` the query (one value per
    name, None for absent); ``body`` the parsed JSON body or :data:`NO_BODY`. Returns the
    operation, or None for a path the contract does not have (the router answers 404 or 405).
    """
    found = find_operation(method, path)
    if found is None:
        return None
    op, path_values = found
    # An empty value is an absent one, as the handlers read it (``?type=`` is the default type).
    query = {
        k: v for k, v in (params or {}).items() if k not in _JUPYTER_QUERY and v not in (None, "")
    }
    for param in op.parameters:
        raw = path_values.get(param.name) if param.where == "path" else query.get(param.name)
        if raw is None:
            if param.required:
                raise InvalidRequest(f"the query parameter {param.name} is required")
            continue
        _check(param.validator, _coerce(raw, param.kind, param.name), param.name)
    if body is NO_BODY:
        if op.body_required:
            raise InvalidRequest("this request needs a JSON body")
    elif op.body is None:
        raise InvalidRequest("this request takes no body")
    else:
        _check(op.body, body, "body")
    return op


def validate_response(method: str, path: str, status: int, body: Any = NO_BODY) -> None:
    """Check one response; raise :class:`ContractError` when the contract does not allow it."""
    found = find_operation(method, path)
    if found is None:
        raise ContractError(f"{method} {path} is not in openapi.yaml")
    op = found[0]
    if str(status) not in op.responses:
        raise ContractError(f"{method} {op.template} may not answer {status}")
    validator = op.responses[str(status)]
    if validator is None:
        if body is not NO_BODY:
            raise ContractError(f"{method} {op.template} {status} must have no body")
        return
    if body is NO_BODY:
        raise ContractError(f"{method} {op.template} {status} must have a JSON body")
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        raise ContractError(f"{method} {op.template} {status}: {_describe(errors[0], 'body')}")


def request_refusal(
    method: str, path: str, params: dict[str, Any], raw_body: bytes | None
) -> str | None:
    """Why the contract refuses this request (``raw_body`` as sent), or None when it allows it.

    Raises :class:`ContractError` for a path the contract does not have.
    """
    try:
        op = validate_request(method, path, params, parse_body(raw_body))
    except Wp5Error as err:
        return err.message
    if op is None:
        raise ContractError(f"{method} {path} is not in openapi.yaml")
    return None


def check_exchange(
    method: str,
    path: str,
    params: dict[str, Any],
    raw_body: bytes | None,
    status: int,
    answer: Any = NO_BODY,
) -> None:
    """Check one request and its answer, whichever side sent them; raise :class:`ContractError`.

    The answer must be one the contract allows for that operation and status, and a request the
    contract refuses must have been refused (400, 413, or 403 without a valid token).
    """
    refusal = request_refusal(method, path, params, raw_body)
    if refusal is not None and status not in REFUSALS:
        raise ContractError(
            f"the contract refuses {method} {path} ({refusal}) but the server answered {status}"
        )
    validate_response(method, path, status, answer)


def validate_event(message: Any) -> None:
    """Check one ``/events`` websocket message; raise :class:`ContractError` if it is not one."""
    errors = list(_event_validator().iter_errors(message))
    if errors:
        raise ContractError(f"events message: {_describe(errors[0], 'message')}")


def _coerce(raw: Any, kind: str, name: str) -> Any:
    """Query and path values are text (a client may hand us numbers); the contract types them."""
    raw = str(raw)
    if kind == "integer":
        if not re.fullmatch(r"-?\d{1,18}", raw.strip()):
            raise InvalidRequest(f"{name} must be a whole number, not '{raw[:40]}'")
        return int(raw)
    if kind == "boolean":
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE or raw == "":
            return False
        raise InvalidRequest(f"{name} must be true or false, not '{raw[:40]}'")
    return raw


def _check(validator: OAS30Validator, value: Any, where: str) -> None:
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        field_name = str(first.absolute_path[0]) if first.absolute_path else where
        kind = InvalidDID if field_name in _DID_FIELDS else InvalidRequest
        raise kind(_describe(first, where))


def _describe(error: Any, where: str) -> str:
    """A short message: jsonschema's own repeats the whole value, which may be 64 kB long."""
    at = ".".join([where, *(str(p) for p in error.absolute_path)])
    rule, limit = error.validator, error.validator_value
    if rule == "additionalProperties" and isinstance(error.instance, dict):
        known = set((error.schema.get("properties") or {}).keys())
        unknown = sorted(str(k)[:40] for k in error.instance if k not in known)[:5]
        return f"{at} has unknown fields: {', '.join(unknown)}"
    if rule == "enum":
        return f"{at} must be one of {', '.join(map(str, limit))}"
    if rule == "required" and isinstance(error.instance, dict):
        missing = [name for name in limit if name not in error.instance]
        return f"{at} lacks a required field ({', '.join(missing)})"
    if rule == "pattern" and error.schema.get("description"):
        # A readable form ("scope:name") says more than the regular expression.
        return f"{at} does not match {error.schema['description']}"
    templates = {
        "maxLength": "{at} is longer than {limit} characters",
        "minLength": "{at} is shorter than {limit} characters",
        "maximum": "{at} is above {limit}",
        "minimum": "{at} is below {limit}",
        "type": "{at} must be of type {limit}",
        "pattern": "{at} does not match {limit}",
        "required": "{at} lacks a required field ({fields})",
        "oneOf": "{at} matches none of the allowed forms",
        "anyOf": "{at} matches none of the allowed forms",
    }
    if rule in templates:
        fields = ", ".join(limit) if rule == "required" else ""
        return templates[rule].format(at=at, limit=limit, fields=fields)
    return f"{at}: {error.message[:200]}"


@cache
def spec() -> dict[str, Any]:
    """openapi.yaml with every ``$ref`` replaced by what it names."""
    with SPEC_PATH.open() as f:
        document = yaml.safe_load(f)
    return _inline(document, document)


def _inline(node: Any, document: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return _inline(target, document)
        return {k: _inline(v, document) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, document) for v in node]
    return node


@cache
def _operations() -> list[Operation]:
    operations = []
    for template, item in spec()["paths"].items():
        shared = item.get("parameters", [])
        for method, details in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            op = Operation(method, template, _template_regex(template))
            for p in [*shared, *details.get("parameters", [])]:
                schema = p.get("schema", {})
                op.parameters.append(
                    _Parameter(
                        p["name"],
                        p["in"],
                        bool(p.get("required")),
                        OAS30Validator(schema),
                        schema.get("type", "string"),
                    )
                )
            body = details.get("requestBody")
            if body:
                op.body = OAS30Validator(body["content"]["application/json"]["schema"])
                op.body_required = bool(body.get("required"))
            for status, response in details.get("responses", {}).items():
                # JSON for our own answers; a dashboard's pages are text/html (a string).
                content = next(iter((response.get("content") or {}).values()), None)
                op.responses[str(status)] = OAS30Validator(content["schema"]) if content else None
            operations.append(op)
    # Longer literal text first: /datasets/{scope}/{name}/files before /datasets/{scope}/{name}.
    operations.sort(key=lambda o: -len(re.sub(r"\{[^}]+\}", "", o.template)))
    return operations


def _template_regex(template: str) -> re.Pattern[str]:
    regex = ""
    for part in re.split(r"(\{\w+\})", template):
        name = part[1:-1] if part.startswith("{") else None
        if name is None:
            regex += re.escape(part)
        elif name in _SLASHED_PARAMETERS:
            regex += f"(?P<{name}>.+?)"
        else:
            regex += f"(?P<{name}>[^/]+)"
    return re.compile(regex)


@cache
def _event_validator() -> OAS30Validator:
    return OAS30Validator(spec()["components"]["schemas"]["Event"])
