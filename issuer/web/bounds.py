"""Bounds on a JSON request body, checked once before any view or schema reads it.

Python's JSON parser recurses once per level of nesting (10,000 ``[`` raise RecursionError) and
refuses integers of more than 4,300 digits with a ValueError that is not a decoding error;
neither is caught by the parsers downstream (webargs, ``request.get_json``), so both became a
500. A string holding a lone surrogate (``"\\ud800"``) cannot be encoded as UTF-8, and a NUL
cannot be stored in PostgreSQL text: both failed deep in the store. Here every JSON body is
parsed with integers kept as their digits, then walked without recursion; a body that breaks a
bound is refused with 400 (nesting, integer size) or 422 (characters), naming the top-level
field that holds the offending value (``_schema`` for the body itself), in the shape the
schemas' errors have: ``{"detail": {"json": {"<field>": ["..."]}}}``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, jsonify, request

#: Levels of nesting a body may have; the API's bodies have one, holders' two.
MAX_JSON_DEPTH = 32
#: Digits an integer may have (a 64-bit integer has 19 or 20).
MAX_INT_DIGITS = 40
#: The field name when the body itself, not one of its fields, breaks a bound.
BODY = "_schema"
_FIELD_ECHO = 64  # characters of an offending field name echoed back


class _LongInt(str):
    """The digits of an integer too long to be one (what ``parse_int`` returns for them)."""


def _parse_int(digits: str) -> int | _LongInt:
    return _LongInt(digits) if len(digits.lstrip("-")) > MAX_INT_DIGITS else int(digits)


def check_json_body() -> Response | None:
    """A ``before_request`` hook: None if the request has no JSON body or a good one, else the
    refusal. A body that is not JSON at all is left to the view (its usual 400)."""
    if not request.is_json:
        return None
    data = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH (413 beyond)
    if not data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        body = json.loads(text, parse_int=_parse_int)
    except RecursionError:
        return refuse(400, _deep_field(text), f"nested deeper than {MAX_JSON_DEPTH} levels")
    except ValueError:
        return None
    problem = find_problem(body)
    if problem is None:
        return None
    field, status, message = problem
    return refuse(status, field, message)


def refuse(status: int, field: str, message: str) -> Response:
    response = jsonify({"message": "Bad Request" if status == 400 else "Validation error",
                        "detail": {"json": {field[:_FIELD_ECHO]: [message]}}})
    response.status_code = status
    return response


def find_problem(body: Any) -> tuple[str, int, str] | None:
    """``(field, status, message)`` for the first value of ``body`` that breaks a bound, else
    None. Iterative: a body of any depth costs its size, never the stack."""
    top = body.items() if isinstance(body, dict) else [(BODY, body)]
    stack: list[tuple[str, Any, int]] = [(str(k), v, 2 if isinstance(body, dict) else 1)
                                         for k, v in top]
    if isinstance(body, dict):
        bad_key = next((k for k in body if _bad_text(k)), None)
        if bad_key is not None:
            return BODY, 422, _bad_text(bad_key)
    while stack:
        field, value, depth = stack.pop()
        if isinstance(value, _LongInt):
            return field, 400, f"an integer of at most {MAX_INT_DIGITS} digits"
        if isinstance(value, str):
            problem = _bad_text(value)
            if problem:
                return field, 422, problem
        elif isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                return field, 400, f"nested deeper than {MAX_JSON_DEPTH} levels"
            children = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in children:
                if isinstance(key, str) and _bad_text(key):
                    return field, 422, _bad_text(key)
                stack.append((field, child, depth + 1))
    return None


def _bad_text(text: str) -> str:
    """What is wrong with the characters of ``text`` ("" if nothing)."""
    if "\x00" in text:
        return "a NUL character (\\u0000) is not allowed"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid Unicode text (a lone surrogate, e.g. \\ud800)"
    return ""


def _deep_field(text: str) -> str:
    """The top-level field whose value nests too deep, found by a linear scan of the text
    (the parser could not finish it); :data:`BODY` when the body itself does."""
    depth, in_string, escaped, start, key, top_object = 0, False, False, 0, None, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                if depth == 1:
                    key = text[start:i]
        elif ch == '"':
            in_string, start = True, i + 1
        elif ch in "[{":
            top_object = top_object or (depth == 0 and ch == "{")
            depth += 1
            if depth > MAX_JSON_DEPTH:
                break
        elif ch in "]}":
            depth -= 1
    if not top_object or key is None:
        return BODY
    try:
        return str(json.loads(f'"{key[:_FIELD_ECHO]}"'))
    except ValueError:
        return key[:_FIELD_ECHO]
