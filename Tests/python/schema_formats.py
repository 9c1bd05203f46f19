"""The JSON Schema format checker the Python oracles share: jsonschema's own, with an RFC 3339
date-time checker of ours when the rfc3339-validator package is missing, so that `date-time`
is never silently left unchecked."""

import copy
import re
from datetime import date

_DATE_TIME = re.compile(
    r"^(\d{4})-(0[1-9]|1[0-2])-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)\Z",
    re.ASCII,
)


def rfc3339_date_time(instance):
    """RFC 3339 date-time as rfc3339-validator checks it (used only when that is missing)."""
    if not isinstance(instance, str):
        return True
    match = _DATE_TIME.match(instance.upper())
    if not match:
        return False
    try:
        date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return False
    return True


def format_checker(jsonschema):
    """Draft 2020-12's format checker that really checks `date` and `date-time`."""
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    if checker.conforms("2026-02-30T10:00:00Z", "date-time"):
        checker = copy.deepcopy(checker)
        checker.checks("date-time")(rfc3339_date_time)
    assert not checker.conforms("2026-02-30T10:00:00Z", "date-time")
    assert not checker.conforms("2026-02-30", "date")
    return checker
