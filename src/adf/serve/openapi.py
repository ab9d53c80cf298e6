"""The OpenAPI 3.1 document of a served workflow, generated from its declared types.

Takes the workflow's `Signature`, its source name and plan hash; gives the
document served at `/openapi.json`: `POST /v1/call` (the inputs as a JSON
object; the outputs back), `POST /v1/batch` (a list of inputs), `GET
/v1/workflow`, `GET /health`, and the shared error body with its codes.
Value schemas come from `adf.runtime.structured.type_schema`, the same
schemas the runtime asks models to follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adf.workflow.signature import Signature

_REF = "#/components/schemas/"


def openapi_document(sig: Signature, *, title: str, version: str, plan_hash: str,
                     errors: dict[int, tuple[str, ...]],
                     descriptions: dict[str, str]) -> dict[str, Any]:
    """The document; `errors` lists the codes by HTTP status, `descriptions` says each one."""
    from adf.runtime.structured import type_schema

    def obj(fields: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
        return {"type": "object", "properties": {n: type_schema(t) for n, t in fields},
                "required": [n for n, _ in fields], "additionalProperties": False}

    usage = {"type": "object", "properties": {
        name: {"type": "integer"} for name in
        ("calls", "requests", "retries", "failures", "cache_hits", "prompt_tokens",
         "completion_tokens", "tokens", "unpriced")}
        | {"cost_usd": {"type": ["number", "null"]}, "latency_s": {"type": "number"}}}
    error = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string", "enum": sorted({c for cs in errors.values() for c in cs})},
            "message": {"type": "string"},
            "node": {"type": ["string", "null"]},
            "problems": {"type": "array", "items": {"type": "object", "properties": {
                "path": {"type": "array", "items": {"type": ["string", "integer"]}},
                "message": {"type": "string"}}}},
        }}}}
    result = {"type": "object", "required": ["outputs", "usage"], "properties": {
        "outputs": {"$ref": _REF + "Outputs"}, "usage": {"$ref": _REF + "Usage"},
        "trace": {"type": "array", "items": {"type": "object"},
                  "description": "every node's inputs, prompt, reply and value (?trace=true)"}}}
    item = {"oneOf": [{"$ref": _REF + "Result"}, {"$ref": _REF + "Error"}]}
    batch = {"type": "object", "required": ["results", "usage"], "properties": {
        "results": {"type": "array", "items": item}, "usage": {"$ref": _REF + "Usage"}}}
    trace_param = {"name": "trace", "in": "query", "required": False,
                   "schema": {"type": "boolean"}, "description": "include the trace"}

    def responses(ok: str, statuses: tuple[int, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {"200": _json(ok)}
        for status in statuses:
            codes = ", ".join(f"`{c}` ({descriptions.get(c, c)})" for c in errors[status])
            out[str(status)] = _json("Error", codes)
        return out

    failures = tuple(sorted(errors))
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": f"adf workflow {title}, plan {plan_hash}. Every response "
                                "carries the served plan's hash in `X-Adf-Plan-Hash`."},
        "paths": {
            "/v1/call": {"post": {
                "summary": "run the workflow on one set of inputs",
                "parameters": [trace_param],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": _REF + "Inputs"}}}},
                "responses": responses("Result", failures)}},
            "/v1/batch": {"post": {
                "summary": "run the workflow on a list of inputs (results in order)",
                "parameters": [trace_param],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "array", "items": {"$ref": _REF + "Inputs"}}}}},
                "responses": responses("Batch", (*[s for s in failures if s < 500], 503, 504))}},
            "/v1/workflow": {"get": {"summary": "the served workflow: types, trained values",
                                     "responses": {"200": {"description": "workflow"}}}},
            "/health": {"get": {"summary": "liveness", "responses": {
                "200": {"description": "ok"}}}},
        },
        "components": {"schemas": {
            "Inputs": obj(sig.inputs), "Outputs": obj(sig.outputs), "Usage": usage,
            "Result": result, "Batch": batch, "Error": error,
        }},
    }


def _json(name: str, description: str = "") -> dict[str, Any]:
    return {"description": description or name,
            "content": {"application/json": {"schema": {"$ref": _REF + name}}}}
