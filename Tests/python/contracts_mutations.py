"""Generated cases for the contracts cross-check: mutations of one valid instance.

Schema-agnostic mutations (drop, add, retype every value) plus schema-aware boundary cases
(maxLength / minLength with multi-byte code points, minimum / maximum, enum, formats,
pattern, array sizes) for each location of the instance.
"""

import copy

SUBSTITUTES = [
    ("null", None),
    ("true", True),
    ("zero", 0),
    ("negative", -1),
    ("fraction", 1.5),
    ("integral float", 2.0),
    ("big integer", 10**20),
    ("empty string", ""),
    ("short string", "x"),
    ("impossible date", "2026-02-30"),
    ("date", "2026-03-02"),
    ("date-time lower-case", "2026-03-02t09:15:27z"),
    ("date-time no zone", "2026-03-02T09:15:27"),
    ("fødselsnummer", "15476545657"),
    ("long string", "ø" * 400),
    ("empty array", []),
    ("empty object", {}),
]


def resolve(schema, root):
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 20:
        pointer = schema["$ref"][1:]
        target = root
        for token in pointer.split("/")[1:]:
            target = target[token.replace("~1", "/").replace("~0", "~")]
        extra = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **extra} if isinstance(target, dict) else target
        seen += 1
    return schema


def subschema_at(schema, root, path):
    current = resolve(schema, root)
    for step in path:
        if not isinstance(current, dict):
            return None
        if isinstance(step, int):
            current = current.get("items")
        else:
            current = (current.get("properties") or {}).get(step)
        if current is None:
            return None
        current = resolve(current, root)
    return current


def locations(value, path=()):
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from locations(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from locations(child, path + (index,))


def replaced(instance, path, new):
    result = copy.deepcopy(instance)
    if not path:
        return new
    target = result
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return result


def removed(instance, path):
    result = copy.deepcopy(instance)
    target = result
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return result


def boundary_values(sub):
    if not isinstance(sub, dict):
        return []
    values = []
    if "maxLength" in sub:
        n = sub["maxLength"]
        values += [("maxLength exact (multi-byte)", "å" * n), ("maxLength + 1", "å" * (n + 1)),
                   ("maxLength emoji", "😀" * n)]
    if "minLength" in sub and sub["minLength"] > 0:
        n = sub["minLength"]
        values += [("minLength - 1", "æ" * (n - 1)), ("minLength exact", "æ" * n)]
    for key in ("minimum", "exclusiveMinimum"):
        if key in sub:
            values += [(f"{key} - 1", sub[key] - 1), (f"{key}", sub[key]), (f"{key} + 0.5", sub[key] + 0.5)]
    for key in ("maximum", "exclusiveMaximum"):
        if key in sub:
            values += [(f"{key} + 1", sub[key] + 1), (f"{key}", sub[key])]
    if "enum" in sub:
        values += [("enum first", sub["enum"][0]), ("enum last", sub["enum"][-1]), ("not in enum", "ikke-gyldig")]
        if all(isinstance(v, str) for v in sub["enum"]):
            values.append(("enum upper-case", str(sub["enum"][0]).upper()))
    if "const" in sub:
        values += [("const", sub["const"]), ("not const", "annet")]
    if sub.get("format") == "date":
        values += [("leap day 2024", "2024-02-29"), ("no leap day 2100", "2100-02-29"), ("31 April", "2026-04-31"),
                   ("month 13", "2026-13-01"), ("year 0", "0000-01-01"), ("date-time in date", "2026-03-02T10:00:00Z")]
    if sub.get("format") == "date-time":
        values += [("offset", "2026-03-02T09:15:27.5+01:00"), ("hour 24", "2026-03-02T24:00:00Z"),
                   ("leap second", "2026-06-30T23:59:60Z"), ("space separator", "2026-03-02 09:15:27Z"),
                   ("30 February", "2026-02-30T09:15:27Z"), ("offset no colon", "2026-03-02T09:15:27+0100")]
    if "pattern" in sub:
        values += [("pattern + suffix", "0000000000x"), ("digits 11", "15476545657"), ("digits 4", "0301"),
                   ("digits 9", "974760673"), ("uuid", "7d1c2a4e-5b6f-4c1d-9e8a-2b3c4d5e6f70"),
                   ("uuid upper", "7D1C2A4E-5B6F-4C1D-9E8A-2B3C4D5E6F70"), ("dotted code", "consent.missing")]
    if sub.get("type") == "array":
        if "minItems" in sub:
            values.append(("empty array for minItems", []))
        values.append(("array of nulls", [None, None]))
    return values


def mutations_of(instance, schema):
    """(description, mutated instance) pairs; descriptions name paths, never values."""
    result = []
    for path, value in list(locations(instance)):
        where = "/" + "/".join(str(p) for p in path)
        if path:
            result.append((f"drop {where}", removed(instance, path)))
            for what, substitute in SUBSTITUTES:
                result.append((f"{what} at {where}", replaced(instance, path, substitute)))
        if isinstance(value, dict):
            result.append((f"unknown property in {where}", replaced(instance, path, {**value, "ukjentFelt": 1})))
        if isinstance(value, list) and value:
            result.append((f"duplicate item in {where}", replaced(instance, path, value + [value[0]])))
        sub = subschema_at(schema, schema, path)
        for what, candidate in boundary_values(sub):
            result.append((f"{what} at {where}", replaced(instance, path, candidate)))
    return result
