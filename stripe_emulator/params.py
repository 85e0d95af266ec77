"""Request parameters: Stripe's bracket notation parsed into nested values, and checked against a schema."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from stripe_emulator.errors import StripeError, invalid

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
# Stripe's own parameters nest at most 5 levels (e.g. payment_method_data[billing_details][address][line1]);
# a deeper key is no real request, and unbounded depth would exhaust the parser.
MAX_NESTING = 20


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Turn `metadata[k]=v`, `expand[0]=x`, `types[]=y`, `a[b][c]=d` pairs into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        if key.count("[") >= MAX_NESTING:
            raise invalid(
                f"Invalid parameter name: {key[:60]}...: parameters may nest at most {MAX_NESTING} levels deep.",
                param=key[:60],
            )
        match = _KEY.match(key)
        parts = [key] if match is None else [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node: dict[str, Any] = root
        for depth, part in enumerate(parts):
            if part == "":
                part = str(len(node))
            last = depth == len(parts) - 1
            if last:
                if isinstance(node.get(part), dict) and node[part]:
                    raise invalid(f"Invalid value for {key}: it is also given as a hash.", param=key)
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    if child not in (None, ""):
                        raise invalid(f"Invalid hash for {key}.", param=key)
                    child = {}
                    node[part] = child
                node = child
    return _listify(root)


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {key: _listify(value) for key, value in node.items()}
        if converted and all(key.isascii() and key.isdigit() for key in converted):
            return [converted[key] for key in sorted(converted, key=int)]
        return converted
    return node


# ---- converters: (value, param name) -> cleaned value, raising Stripe's 400 with `param` set ----

Converter = Callable[[Any, str], Any]


def string(max_length: int = 5000) -> Converter:
    """A string; an empty string means 'unset' (None), as in Stripe."""

    def convert(value: Any, name: str) -> str | None:
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {_show(value)}", param=name)
        if value == "":
            return None
        if len(value) > max_length:
            raise invalid(f"Invalid string: {value[:20]}...; must be at most {max_length} characters", param=name)
        return value

    return convert


def integer(minimum: int | None = None, maximum: int | None = None) -> Converter:
    """An integer in bounds, in ASCII digits (Python's `\\d` and `int` also take other scripts' digits: `１２３４`)."""

    def convert(value: Any, name: str) -> int:
        if not isinstance(value, str) or not re.fullmatch(r"-?[0-9]{1,18}", value):
            raise invalid(f"Invalid integer: {_show(value)}", param=name)
        number = int(value)
        if minimum is not None and number < minimum:
            if minimum == 1:
                raise invalid(f"Invalid positive integer: {value}", param=name)
            raise invalid(f"This value must be greater than or equal to {minimum}.", param=name)
        if maximum is not None and number > maximum:
            raise invalid(f"This value must be less than or equal to {maximum}.", param=name)
        return number

    return convert


def boolean(value: Any, name: str) -> bool:
    """`true` or `false`."""
    if value in ("true", "false"):
        return value == "true"
    raise invalid(f"Invalid boolean: {_show(value)}", param=name)


def enum(*choices: str) -> Converter:
    """One of the given strings."""

    def convert(value: Any, name: str) -> str:
        if value not in choices:
            raise invalid(
                f"Invalid {name}: must be one of {', '.join(choices)}",
                param=name,
            )
        return value

    return convert


def metadata(value: Any, name: str) -> dict[str, str | None]:
    """Stripe's metadata: up to 50 keys of 40 chars, values up to 500 chars; '' (whole or per key) unsets."""
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid("Invalid hash", param=name)
    if len(value) > 50:
        raise invalid("Metadata can have at most 50 keys.", param=name)
    for key, item in value.items():
        if not isinstance(item, str):
            raise invalid(f"Invalid value for metadata key {key}: must be a string", param=f"{name}[{key}]")
        if len(key) > 40:
            raise invalid(f"Metadata keys can have at most 40 characters (key: {key[:40]}...)", param=name)
        if len(item) > 500:
            raise invalid(f"Metadata values can have at most 500 characters (key: {key})", param=f"{name}[{key}]")
    return {key: (item if item != "" else None) for key, item in value.items()}


def email(value: Any, name: str) -> str | None:
    """An email address ('' unsets)."""
    if value == "":
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) or len(value) > 512:
        raise StripeError(
            400, "invalid_request_error", f"Invalid email address: {_show(value)}", code="email_invalid", param=name
        )
    return value


def string_list(value: Any, name: str) -> list[str]:
    """A list of strings (`x[0]=a&x[1]=b`); '' is the empty list."""
    if isinstance(value, str):
        return [value] if value else []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("Invalid array", param=name)
    return value


def created_filter(value: Any, name: str) -> dict[str, int]:
    """`created=<ts>` or `created[gt|gte|lt|lte]=<ts>`."""
    to_int = integer()
    if isinstance(value, str):
        return {"eq": to_int(value, name)}
    if not isinstance(value, dict):
        raise invalid("Invalid hash", param=name)
    result = {}
    for op, item in value.items():
        if op not in ("gt", "gte", "lt", "lte"):
            raise invalid(f"Received unknown parameter: {name}[{op}]", param=f"{name}[{op}]")
        result[op] = to_int(item, f"{name}[{op}]")
    return result


def hash_of(schema: dict[str, tuple[Converter, bool]]) -> Converter:
    """A nested hash checked against `schema` ('' unsets the whole hash)."""

    def convert(value: Any, name: str) -> dict[str, Any] | None:
        if value == "":
            return None
        if not isinstance(value, dict):
            raise invalid("Invalid hash", param=name)
        return check(value, schema, prefix=name)

    return convert


def check(params: dict[str, Any], schema: dict[str, tuple[Converter, bool]], prefix: str = "") -> dict[str, Any]:
    """Validate `params` against `schema` {name: (converter, required)}; unknown names are a 400."""

    def full(key: str) -> str:
        return f"{prefix}[{key}]" if prefix else key

    for key in params:
        if key not in schema:
            raise invalid(f"Received unknown parameter: {full(key)}", param=full(key), code="parameter_unknown")
    cleaned: dict[str, Any] = {}
    for key, (convert, required) in schema.items():
        if key not in params:
            if required:
                raise invalid(f"Missing required param: {full(key)}.", param=full(key), code="parameter_missing")
            continue
        cleaned[key] = convert(params[key], full(key))
    return cleaned


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a hash"
    if isinstance(value, list):
        return "an array"
    return str(value)


ADDRESS = {
    "city": (string(), False),
    "country": (string(), False),
    "line1": (string(), False),
    "line2": (string(), False),
    "postal_code": (string(), False),
    "state": (string(), False),
}
SHIPPING = {
    "address": (hash_of(ADDRESS), True),
    "name": (string(), True),
    "carrier": (string(), False),
    "phone": (string(), False),
    "tracking_number": (string(), False),
}
CUSTOMER_SHIPPING = {
    "address": (hash_of(ADDRESS), True),
    "name": (string(), True),
    "phone": (string(), False),
}
PAGINATION = {
    "limit": (integer(1, 100), False),
    "starting_after": (string(), False),
    "ending_before": (string(), False),
    "expand": (string_list, False),
}
