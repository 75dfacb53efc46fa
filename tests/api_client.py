"""Calls every operation of the client generated from /api/openapi.json (see
tests/api_client.rs, which generates it and runs this with the package on PYTHONPATH).

For each operation of the document: the generated module must exist and be callable;
it is called with path parameters that meet the seeded rows, the required query
parameters, and a body built from the document's own schema (required members only,
the first value of each enum); the answer's status must be one the document declares
for the operation, and a declared 2xx body must parse into the generated model.
Reads run first, then writes, then the operations that end the session.
Exits non-zero with a list of what failed.
"""

import argparse
import importlib
import inspect
import json
import pkgutil
import sys
from http import HTTPStatus

import upbrella_client.api
from upbrella_client.client import Client
from upbrella_client.types import UNSET

# Operations that end or change the caller's session run last, in this order.
SESSION_ENDING = ["change_password", "log_out_everywhere", "leave", "log_out"]

# Values for path parameters that meet the rows tests/support/lib.rs seeds.
PATH_VALUES = {"number": 1, "kind": "region"}


def modules():
    """Every generated operation module, by its name (the operation id)."""
    found = {}
    for info in pkgutil.walk_packages(upbrella_client.api.__path__, "upbrella_client.api."):
        module = importlib.import_module(info.name)
        if hasattr(module, "sync_detailed"):
            found[info.name.rsplit(".", 1)[1]] = module
    return found


def resolve(doc, schema):
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = doc["components"]["schemas"][name]
    return schema


def example(doc, schema, name=""):
    """The smallest value the schema accepts that our server is likely to accept too."""
    schema = resolve(doc, schema)
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if resolve(doc, o).get("type") != "null"]
            if key == "allOf":
                merged = {}
                for part in options:
                    merged.update(example(doc, part, name) or {})
                return merged
            return example(doc, options[0], name) if options else None
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: example(doc, props[k], k) for k in schema.get("required", []) if k in props}
    if kind == "array":
        return [example(doc, schema.get("items", {}), name)] * schema.get("minItems", 0)
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return max(schema.get("minimum", 1.0), 1.0)
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2026-12-07T10:00:00+09:00"
        if fmt == "date":
            return "2026-12-07"
        if fmt == "email" or "email" in name:
            return "someone@example.com"
        if "url" in name:
            return "https://example.com/a.png"
        return "가" * max(schema.get("minLength", 1), 1)
    return None


def arguments(doc, op, module):
    """Keyword arguments for the generated function."""
    signature = inspect.signature(module.sync_detailed)
    kwargs = {}
    for p in op.get("parameters", []):
        p = resolve(doc, p)
        snake = p["name"].replace("-", "_").lower()
        # The generator appends "_" to names Python reserves or builtins use (from_, next_).
        python_name = next((n for n in (snake, snake + "_") if n in signature.parameters), None)
        if python_name is None:
            raise AssertionError(f"parameter {p['name']} is not in the generated signature")
        if p["in"] == "path":
            kwargs[python_name] = PATH_VALUES.get(p["name"], 1)
        elif p.get("required"):
            kwargs[python_name] = example(doc, p.get("schema", {}), p["name"])
    body = op.get("requestBody")
    if body:
        content = body.get("content", {})
        if "application/json" not in content:
            raise AssertionError(f"a body of {sorted(content)}: not exercised")
        data = example(doc, content["application/json"].get("schema", {}))
        annotation = signature.parameters["body"].annotation
        model = annotation if inspect.isclass(annotation) else None
        if model is None:
            # `Model | Unset` or a union: its first class with from_dict.
            for arg in getattr(annotation, "__args__", ()):
                if hasattr(arg, "from_dict"):
                    model = arg
                    break
        kwargs["body"] = model.from_dict(data) if model and isinstance(data, dict) else data
    return kwargs


def declared(op, status):
    responses = op.get("responses", {})
    return str(status) in responses or f"{str(status)[0]}XX" in responses or "default" in responses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--cookie", required=True, help="name=value of an admin's session")
    parser.add_argument("--doc", required=True)
    parser.add_argument("--probe-base", required=True,
                        help="a WAS replica's own address, for its probes outside /api")
    args = parser.parse_args()
    doc = json.load(open(args.doc, encoding="utf-8"))
    name, _, value = args.cookie.partition("=")
    client = Client(base_url=args.base, cookies={name: value}, raise_on_unexpected_status=False)
    # /health and /ready are the WAS's own, for load balancers; web-proxy answers its own
    # /health and does not forward them.
    probes = Client(base_url=args.probe_base, raise_on_unexpected_status=False)

    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                ops.append((method, path, op))
    ids = [op.get("operationId") for _, _, op in ops]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    generated = modules()
    failures = [f"operation ids used more than once: {duplicates}"] if duplicates else []
    failures += [f"{i}: no operationId" for i in ids if not i]
    failures += [f"{i}: the generator made no module for it" for i in ids if i and i not in generated]
    failures += [f"{m}: a module for no operation of the document" for m in generated if m not in ids]

    def order(entry):
        method, _, op = entry
        oid = op.get("operationId", "")
        if oid in SESSION_ENDING:
            return (2, SESSION_ENDING.index(oid))
        return (0 if method == "get" else 1, 0)

    tally = {}
    for method, path, op in sorted(ops, key=order):
        oid = op.get("operationId")
        module = generated.get(oid)
        if module is None:
            continue
        try:
            caller = client if path.startswith("/api/") else probes
            response = module.sync_detailed(client=caller, **arguments(doc, op, module))
        except Exception as e:  # what the generated code raised is the finding
            failures.append(f"{oid} ({method.upper()} {path}): {type(e).__name__}: {e}")
            continue
        status = int(response.status_code)
        tally[status] = tally.get(status, 0) + 1
        if not declared(op, status):
            failures.append(f"{oid} ({method.upper()} {path}): {status} is not declared")
        elif 200 <= status < 300:
            schema = op["responses"].get(str(status), {}).get("content", {}).get("application/json")
            if schema and response.parsed in (None, UNSET):
                failures.append(f"{oid}: a {status} body the generated model did not parse")
    counts = ", ".join(f"{HTTPStatus(s).value} ×{n}" for s, n in sorted(tally.items()))
    print(f"{len(ops)} operations in the document, {len(generated)} generated, "
          f"{sum(tally.values())} called: {counts}")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
