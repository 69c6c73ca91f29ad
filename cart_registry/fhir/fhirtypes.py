"""FHIR R4 primitive formats and the few value sets the registry depends on.

The regular expressions are the ones published with the R4 specification (datatypes.html);
FHIR allows partial dates (``2015``, ``2015-04``), so dates are checked here as text and typed
later by the mapping, which keeps their precision. Calendar validity (no 30 February) is
checked on top of the regex, as the HL7 validator does.

fhir.resources does not enforce required code bindings (``Observation.status = 'done'``
validates), so the status value sets of the resources we keep are listed here.
"""

from __future__ import annotations

import datetime as dt
import re

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TZ = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
DATE_RE = re.compile(rf"{_YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?")
DATETIME_RE = re.compile(
    rf"{_YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T{_TIME}{_TZ})?)?)?"
)
INSTANT_RE = re.compile(rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T{_TIME}{_TZ}")
TIME_RE = re.compile(_TIME)
ID_RE = re.compile(r"[A-Za-z0-9\-\.]{1,64}")
BASE64_RE = re.compile(r"(\s*([0-9a-zA-Z+/=]){4}\s*)+")
URI_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")

#: required-binding value sets of the elements we read (R4 4.0.1)
STATUS_CODES: dict[str, frozenset[str]] = {
    "Observation.status": frozenset({
        "registered", "preliminary", "final", "amended", "corrected", "cancelled",
        "entered-in-error", "unknown",
    }),
    "Procedure.status": frozenset({
        "preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
        "entered-in-error", "unknown",
    }),
    "MedicationAdministration.status": frozenset({
        "in-progress", "not-done", "on-hold", "completed", "entered-in-error", "stopped",
        "unknown",
    }),
    "AdverseEvent.actuality": frozenset({"actual", "potential"}),
    "Patient.gender": frozenset({"male", "female", "other", "unknown"}),
    "Bundle.type": frozenset({
        "document", "message", "transaction", "transaction-response", "batch",
        "batch-response", "history", "searchset", "collection",
    }),
}
#: statuses that withdraw a resource: its content must not reach the registry
WITHDRAWN_STATUSES = frozenset({"entered-in-error", "cancelled", "not-done"})


def _calendar_ok(text: str) -> bool:
    """Full dates must exist (the regex allows 2021-02-31)."""
    if len(text) >= 10:
        try:
            dt.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
        except ValueError:
            return False
    return True


def is_date(text: str) -> bool:
    return DATE_RE.fullmatch(text) is not None and _calendar_ok(text)


def is_datetime(text: str) -> bool:
    return DATETIME_RE.fullmatch(text) is not None and _calendar_ok(text)


def is_instant(text: str) -> bool:
    return INSTANT_RE.fullmatch(text) is not None and _calendar_ok(text)


def is_base64(text: str) -> bool:
    stripped = "".join(text.split())
    return len(stripped) % 4 == 0 and BASE64_RE.fullmatch(text) is not None


def precision(text: str) -> int:
    """4 (year), 7 (month), 10 (day) or 19+ (time) characters of precision."""
    return 19 if "T" in text else len(text)


def compare_partial(a: str, b: str) -> int | None:
    """FHIRPath-style comparison of two valid dates/dateTimes: -1, 0, 1, or None when the
    answer depends on digits one side does not have (``2023-06-21`` vs ``2023-06-21T06:20Z``)."""
    pa, pb = precision(a), precision(b)
    if pa == 19 and pb == 19:
        try:
            da = dt.datetime.fromisoformat(a.replace("Z", "+00:00"))
            db = dt.datetime.fromisoformat(b.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (da > db) - (da < db)
    n = min(pa, pb, 10)
    sa, sb = a[:n], b[:n]
    if sa != sb:
        return -1 if sa < sb else 1
    return 0 if pa == pb else None


#: the choice-type suffixes whose value must be a JSON primitive of one kind
PRIMITIVE_SUFFIXES: dict[str, str] = {
    "Boolean": "boolean", "Integer": "integer", "PositiveInt": "integer",
    "UnsignedInt": "integer", "Decimal": "decimal", "String": "string", "Code": "string",
    "Uri": "string", "Url": "string", "Canonical": "string", "Id": "string",
    "Markdown": "string", "Oid": "string", "Uuid": "string", "Date": "date",
    "DateTime": "dateTime", "Instant": "instant", "Time": "time",
    "Base64Binary": "base64Binary",
}
#: complex datatypes a choice element can take (``valueQuantity``, ``effectivePeriod`` ...)
COMPLEX_SUFFIXES = frozenset({
    "Address", "Age", "Annotation", "Attachment", "CodeableConcept", "Coding", "ContactPoint",
    "Count", "Distance", "Duration", "HumanName", "Identifier", "Money", "Period", "Quantity",
    "Range", "Ratio", "Reference", "SampledData", "Signature", "Timing", "ContactDetail",
    "Contributor", "DataRequirement", "Expression", "ParameterDefinition", "RelatedArtifact",
    "TriggerDefinition", "UsageContext", "Dosage", "Meta",
})
#: choice elements ``<prefix>[x]`` of the resources and datatypes we read
CHOICE_PREFIXES = ("value", "effective", "onset", "abatement", "performed", "deceased",
                   "occurrence", "multipleBirth", "born", "medication", "timing", "item",
                   "probability", "defaultValue", "asNeeded", "serviced", "age", "reported",
                   "rate", "doseNumber", "seriesDoses")
#: non-choice elements whose primitive type we check wherever they occur in a resource
NAMED_PRIMITIVES: dict[str, str] = {
    "birthDate": "date",
    "issued": "instant",
    "lastUpdated": "instant",
    "recordedDate": "dateTime",
    "authoredOn": "dateTime",
}
