#!/usr/bin/python3
"""Validates mcptrail JSON-lines event files against the mcptrail/1 JSON Schema.

usage: validate_events.py [--schema PATH] [--require-types T1,T2,...] FILE...

Every line of every FILE must be one JSON object that validates against the schema
(Draft 2020-12, with `format` asserted: date-time is really checked). Within each file an
event_id may repeat only when the whole event is identical. With --require-types, each listed
event type must occur at least once over all files.

Prints `validated N events (by type: ...)` and exits 0, or prints each problem as
`FILE:LINE: JSON-PATH: message` and exits 1. Exits 2 when the schema itself cannot be used.

Only the standard library and jsonschema (Debian python3-jsonschema, 4.10) are used.
"""
import argparse
import collections
import json
import os
import re
import sys

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

DEFAULT_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas",
                              "mcptrail-event.v1.schema.json")
MAX_MESSAGE = 300

# RFC 3339 section 5.6 date-time (T, Z may be lower case; no leap-second table, 60 allowed).
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))")


def is_rfc3339_date_time(value):
    if not isinstance(value, str):
        return True  # format only constrains strings
    m = _RFC3339.fullmatch(value)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    if not 1 <= day <= days:
        return False
    if hour > 23 or minute > 59 or second > 60:
        return False
    if m.group(8) is not None and (int(m.group(8)) > 23 or int(m.group(9)) > 59):
        return False
    return True


def make_format_checker():
    checker = FormatChecker()
    if "date-time" not in checker.checkers:
        # jsonschema registers its date-time check only when the optional rfc3339_validator
        # package is importable (it is not in Debian's python3-jsonschema): check it ourselves.
        checker.checks("date-time")(is_rfc3339_date_time)
    if "date-time" not in checker.checkers:
        raise RuntimeError("no date-time format checker")
    return checker


def json_path(path):
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += "[%d]" % part
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += "." + part
        else:
            out += "[%s]" % json.dumps(part)
    return out


def short(text):
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


class DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey("duplicate member %s" % json.dumps(key))
        obj[key] = value
    return obj


def _no_constants(name):
    raise ValueError("%s is not valid JSON" % name)


def parse_line(text):
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def explain(err):
    """The most specific error and a readable message (no dumps of whole objects)."""
    prefix = ""
    if err.context:
        # anyOf/oneOf: report the deepest failure (ties: the first alternative, which is the
        # non-null one for nullable members)
        while err.context:
            err = max(err.context, key=lambda e: len(e.path))
        prefix = "(no alternative matched) "
    if err.validator == "not":
        value = err.validator_value
        if isinstance(value, dict) and set(value) == {"required"}:
            return err, prefix + "member(s) %s must not be present here" % ", ".join(
                json.dumps(k) for k in value["required"])
        return err, prefix + short("%s must not match %s" % (
            short(json.dumps(err.instance)), json.dumps(value)))
    message = err.message
    if isinstance(err.instance, (dict, list)) and message.startswith(repr(err.instance)):
        kind = "object" if isinstance(err.instance, dict) else "array"
        message = kind + message[len(repr(err.instance)):]
    return err, prefix + short(message)


def error_sort_key(err):
    return (list(map(str, err.absolute_path)), err.message)


def validate_file(name, validator, types, report):
    """Returns the number of events read (JSON objects)."""
    try:
        with open(name, "rb") as f:
            data = f.read()
    except OSError as e:
        report(name, 0, "$", "cannot read: %s" % e.strerror)
        return 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif data:
        report(name, len(lines), "$", "last line is not terminated by a newline (truncated output?)")
    seen = {}  # event_id -> (line number, canonical text)
    events = 0
    for number, raw in enumerate(lines, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            report(name, number, "$", "not valid UTF-8 (%s)" % e.reason)
            continue
        if not text.strip():
            report(name, number, "$", "empty line")
            continue
        try:
            obj = parse_line(text)
        except (ValueError, RecursionError) as e:
            report(name, number, "$", "not valid JSON: %s" % e)
            continue
        if not isinstance(obj, dict):
            report(name, number, "$", "not a JSON object")
            continue
        events += 1
        etype = obj.get("type")
        if isinstance(etype, str):
            types[etype] += 1
        for err in sorted(validator.iter_errors(obj), key=error_sort_key):
            err, message = explain(err)
            report(name, number, json_path(err.absolute_path), message)
        eid = obj.get("event_id")
        if isinstance(eid, str):
            text_c = canonical(obj)
            first = seen.get(eid)
            if first is None:
                seen[eid] = (number, text_c)
            elif first[1] != text_c:
                report(name, number, "$.event_id",
                       "event_id %s was already used by a different event on line %d" %
                       (eid, first[0]))
    return events


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Validate mcptrail JSON-lines event files against the mcptrail/1 schema.")
    ap.add_argument("--schema", default=DEFAULT_SCHEMA,
                    help="schema file (default: %(default)s)")
    ap.add_argument("--require-types", default="", metavar="T1,T2",
                    help="fail unless each of these event types occurs at least once")
    ap.add_argument("files", nargs="+", metavar="FILE")
    args = ap.parse_args(argv)

    try:
        with open(args.schema, encoding="utf-8") as f:
            schema = json.load(f)
        Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, jsonschema.SchemaError) as e:
        print("validate_events: cannot use schema %s: %s" % (args.schema, short(str(e))),
              file=sys.stderr)
        return 2
    validator = Draft202012Validator(schema, format_checker=make_format_checker())

    errors = []

    def report(name, line, path, message):
        errors.append(1)
        print("%s:%d: %s: %s" % (name, line, path, message))

    types = collections.Counter()
    total = 0
    for name in args.files:
        total += validate_file(name, validator, types, report)

    for t in [t.strip() for t in args.require_types.split(",") if t.strip()]:
        if types[t] == 0:
            report("(all files)", 0, "$.type", "required event type %s does not occur" % t)

    by_type = ", ".join("%s=%d" % (t, n) for t, n in sorted(types.items()))
    if errors:
        print("FAILED: %d error(s) in %d events from %d file(s) (by type: %s)" %
              (len(errors), total, len(args.files), by_type))
        return 1
    print("validated %d events (by type: %s)" % (total, by_type))
    return 0


if __name__ == "__main__":
    sys.exit(main())
