"""From violating rows to issues: location, lineage, fingerprint, waiver, change, message, mask.

All in one SQL statement over the run's workspace (no Python loop over rows):

* **location**: a rule returns the canonical table and key of the offending row; its source
  file, row (or NDJSON line), record locator and mapping rule come from the row's provenance
  columns (``dq_provenance``); ingest issues carry their own. The site's field name comes
  from the manifest lineage (canonical column -> source fields).
* **fingerprint**: sha256 of rule id, site, the record's stable locator (REDCap
  record/event/instrument/instance or FHIR Type/id, else the canonical key) and the field.
  Never a row number: rows move whenever a site re-exports.
* **change vs previous submission** (new / persisting; resolved ones are listed from
  history), **waiver** (an active ``confirmed_as_is`` answer), and the **message and fix
  hint** rendered from the catalog templates.
* **masking** per audience: the site sees its own values; the coordinating centre sees
  pseudonyms and no values of PHI columns, no ingest text; free text is never echoed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from cart_registry.validation.conformance import lit

Audience = Literal["site", "coordinating_center"]
#: keyed pseudonyms when the registry sets a secret; otherwise a fixed salt (stable, but
#: anyone who knows a patient id can recompute its pseudonym: set the key in production)
PSEUDONYM_KEY_ENV = "CART_REGISTRY_PSEUDONYM_KEY"
MASK = "[masked]"
FREE_TEXT = "[free text withheld]"

VIOLATION_DDL = """
CREATE OR REPLACE TEMP TABLE dq_violation (
  rule_id VARCHAR, site_id VARCHAR, patient_id VARCHAR, target_table VARCHAR,
  target_column VARCHAR, record_key VARCHAR, value VARCHAR, expected VARCHAR, detail VARCHAR,
  submission_id VARCHAR, source_file VARCHAR, source_sha256 VARCHAR, source_row BIGINT,
  source_key VARCHAR, source_field VARCHAR, mapping_rule VARCHAR, reason_code VARCHAR,
  -- the source row of an ingest issue: read here to find its record, never written out
  raw_row VARCHAR
)
"""


#: file in the registry folder holding the coordinating centre's pseudonym secret
PSEUDONYM_KEY_FILE = "pseudonym.key"


def pseudonym_salt(registry_dir: Path | None = None) -> str:
    """The coordinating centre's secret for masking record ids in its reports.

    ``CART_REGISTRY_PSEUDONYM_KEY`` wins; otherwise a random secret is created once in the
    registry folder (owner-only) and reused, so pseudonyms are stable between runs but cannot
    be recomputed by someone who only knows an id. It is never a site's de-identification key.
    """
    env = os.environ.get(PSEUDONYM_KEY_ENV)
    if env:
        return env
    if registry_dir is None:
        raise ValueError("no pseudonym key: set CART_REGISTRY_PSEUDONYM_KEY or give the registry")
    path = registry_dir / PSEUDONYM_KEY_FILE
    if not path.is_file():
        from cart_registry.fsutil import atomic_path

        with atomic_path(path) as tmp:
            os.chmod(tmp, 0o600)  # owner-only before the secret is written
            tmp.write_text(secrets.token_hex(32), encoding="ascii")
    return path.read_text(encoding="ascii").strip()


def _pseudo(expr: str, prefix: str, salt: str) -> str:
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL ELSE {lit(prefix)} || "
        f"substr(sha256({lit(salt)} || '|' || {expr}), 1, 12) END"
    )


def _render(template: str) -> str:
    """Fill a catalog template column in SQL from the display columns."""
    out = template
    for key, col in (
        ("value", "coalesce(value_display, '(empty)')"),
        ("expected", "coalesce(expected_display, '')"),
        ("detail", "coalesce(detail_display, '')"),
        ("table", "coalesce(target_table, '')"),
        ("column", "coalesce(target_column, '')"),
        ("record_key", "coalesce(record_display, '')"),
    ):
        out = f"replace({out}, '{{{key}}}', {col})"
    return out


def resolve_sql() -> str:
    """``dq_issue``: one row per violation with location, fingerprint, waiver and change.

    Audience-independent (history stores these); ``display_sql`` masks per audience.
    """
    rec_id = "nullif(regexp_extract(s.src_key, 'record=([^|]*)', 1), '')"
    fhir = "regexp_matches(coalesce(s.src_key, ''), '^[A-Z][A-Za-z]+/[^|/]+$')"
    return f"""
CREATE OR REPLACE TEMP TABLE dq_issue AS
WITH pf AS (
  -- the site's field holding the record id, per table (lineage of <table>.patient_id)
  SELECT site_id, target_table, any_value(source_field) AS field
  FROM dq_lineage WHERE target_column = 'patient_id' AND source_field NOT LIKE '% + %'
  GROUP BY ALL
), v0 AS (
  -- An ingest issue may come without a record locator (a row the mapping could not read,
  -- a CSV export without one): its record is recovered from the raw source row it carries
  -- (the record-id field named by the lineage, a canonical row's patient_id, the first cell
  -- of a ragged CSV line) and a FHIR resource's type and id from its text, even when the
  -- JSON is cut short.
  SELECT v.* EXCLUDE (raw_row),
    CASE WHEN v.raw_row IS NULL THEN NULL
         WHEN NOT json_valid(v.raw_row) THEN NULL
         WHEN json_type(v.raw_row) = 'ARRAY' THEN json_extract_string(v.raw_row, '$[0]')
         ELSE coalesce(json_extract_string(v.raw_row, '$."' || pf.field || '"'),
                       json_extract_string(v.raw_row, '$.patient_id'))
    END AS raw_record,
    CASE WHEN regexp_matches(coalesce(v.raw_row, ''), '^\\{{"resourceType"\\s*:\\s*"[A-Za-z]+"')
         THEN regexp_extract(v.raw_row, '"resourceType"\\s*:\\s*"([A-Za-z]+)"', 1) || '/'
              || regexp_extract(v.raw_row, '"id"\\s*:\\s*"([^"]+)"', 1)
    END AS raw_fhir_key
  FROM dq_violation v
  LEFT JOIN pf ON pf.site_id = v.site_id AND pf.target_table = v.target_table
), base AS (
  SELECT row_number() OVER () AS rowid_, v.* EXCLUDE (patient_id, raw_record, raw_fhir_key),
         coalesce(v.patient_id, CASE WHEN v.raw_record IS NOT NULL
                                     THEN v.site_id || '-' || v.raw_record END) AS patient_id,
         v.raw_record,
         coalesce(v.submission_id, p.submission_id, rs.submission_id) AS sub_id,
         coalesce(v.source_file, p.source_file) AS src_file,
         coalesce(v.source_sha256, p.source_sha256) AS src_sha256,
         coalesce(v.source_row, p.source_row) AS src_row,
         coalesce(v.source_key, p.source_key, v.raw_fhir_key) AS src_key,
         coalesce(v.mapping_rule, p.mapping_rule) AS src_rule,
         rs.source_format
  FROM v0 v
  LEFT JOIN dq_provenance p
    ON p.target_table = v.target_table AND p.site_id = v.site_id AND p.record_key = v.record_key
  LEFT JOIN dq_run_site rs ON rs.site_id = v.site_id
), lin AS (
  -- the site's field(s) behind the canonical column, preferring the same mapping rule
  SELECT b.rowid_, string_agg(DISTINCT l.source_field, ' + ') AS lineage_field,
         any_value(coalesce(l.column_rule, l.mapping_rule)) AS lineage_rule
  FROM base b
  JOIN dq_lineage l ON l.site_id = b.site_id AND l.target_table = b.target_table
       AND l.target_column = b.target_column
       AND (l.mapping_rule IS NULL OR b.src_rule IS NULL OR l.mapping_rule = b.src_rule
            OR starts_with(b.src_rule, l.mapping_rule))
  GROUP BY b.rowid_
), fp AS (
  SELECT b.*, lin.lineage_field, lin.lineage_rule,
         b.rule_id || '|' || b.site_id || '|' ||
           coalesce(b.src_key, b.target_table || '/' || b.record_key,
                    coalesce(b.src_file, '') || '#' || coalesce(b.value, '')) || '|' ||
           coalesce(b.target_column, b.source_field, '') AS fp_basis
  FROM base b LEFT JOIN lin USING (rowid_)
), s AS (
  -- a true collision (e.g. two ingest issues without a record key and the same value) gets
  -- an ordinal so that every issue keeps its own fingerprint
  SELECT *, sha256(fp_basis || CASE WHEN n > 1 THEN '#' || n ELSE '' END) AS fingerprint
  FROM (SELECT *, row_number() OVER (PARTITION BY fp_basis ORDER BY src_row NULLS LAST, rowid_) AS n
        FROM fp)
)
SELECT
  s.fingerprint, s.rule_id, r.rule_version, r.severity, r.kind AS rule_kind,
  r.kahn_category, r.kahn_subcategory, r.kahn_context, r.critical, r.endpoints,
  s.site_id, s.sub_id AS submission_id, s.patient_id, s.target_table, s.target_column,
  s.record_key, s.value, s.expected, s.detail,
  coalesce(c.critical, false) AS critical_column, coalesce(c.free_text, false) AS free_text,
  CASE WHEN coalesce(c.identifier, false) THEN 'direct' ELSE c.phi END AS phi,
  s.source_format, s.src_file AS source_file, s.src_sha256 AS source_sha256,
  s.src_row AS source_row, s.src_key AS source_key,
  coalesce({rec_id}, CASE WHEN NOT {fhir} THEN s.raw_record END) AS record_id,
  nullif(regexp_extract(s.src_key, 'event=([^|]*)', 1), '') AS redcap_event_name,
  nullif(regexp_extract(s.src_key, 'instrument=([^|]*)', 1), '') AS redcap_repeat_instrument,
  TRY_CAST(nullif(regexp_extract(s.src_key, 'instance=([^|]*)', 1), '') AS BIGINT) AS redcap_repeat_instance,
  CASE WHEN {fhir} THEN regexp_extract(s.src_key, '^([A-Za-z]+)/', 1) END AS fhir_resource_type,
  CASE WHEN {fhir} THEN regexp_extract(s.src_key, '^[A-Za-z]+/(.*)$', 1) END AS fhir_id,
  coalesce(s.source_field, s.lineage_field, s.target_column) AS source_field,
  coalesce(s.lineage_rule, s.src_rule) AS mapping_rule,
  s.reason_code,
  w.fingerprint IS NOT NULL AS waived,
  w.reason AS waiver_reason, w.responder AS waiver_responder, w.expires_on AS waiver_expires_on,
  CASE WHEN w.fingerprint IS NOT NULL THEN 'waived'
       WHEN pv.fingerprint IS NOT NULL THEN 'persisting' ELSE 'new' END AS status_vs_previous
FROM s
JOIN dq_rule r ON r.rule_id = s.rule_id
LEFT JOIN dq_column c ON c.target_table = s.target_table AND c.target_column = s.target_column
LEFT JOIN (SELECT * FROM dq_waiver_active
           QUALIFY row_number() OVER (PARTITION BY fingerprint ORDER BY imported_at DESC) = 1) w
  ON w.fingerprint = s.fingerprint
LEFT JOIN dq_prev_issue pv ON pv.site_id = s.site_id AND pv.fingerprint = s.fingerprint
"""


def display_sql(audience: Audience, salt: str) -> str:
    """Second pass: audience-dependent display columns and the rendered texts."""
    cc = audience == "coordinating_center"
    phi = "(i.phi IN ('direct', 'quasi') OR i.rule_kind = 'ingest')"
    expected_display = (
        f"CASE WHEN i.expected IS NOT NULL AND {phi} THEN {lit(MASK)} ELSE i.expected END"
        if cc else "i.expected"
    )
    detail_display = (
        f"CASE WHEN i.rule_kind = 'ingest' AND i.detail IS NOT NULL THEN {lit(MASK)} ELSE i.detail END"
        if cc else "i.detail"
    )
    record_display = _pseudo("i.record_key", "rec-", salt) if cc else "i.record_key"
    patient_display = _pseudo("i.patient_id", "pt-", salt) if cc else "i.patient_id"
    record_id_display = _pseudo("i.record_id", "r-", salt) if cc else "i.record_id"
    fhir_id_display = _pseudo("i.fhir_id", "id-", salt) if cc else "i.fhir_id"
    value_display = (
        f"CASE WHEN i.free_text AND i.value IS NOT NULL THEN {lit(FREE_TEXT)} "
        + (f"WHEN i.value IS NOT NULL AND {phi} THEN {lit(MASK)} " if cc else "")
        + "ELSE i.value END"
    )
    base = f"""
SELECT i.*,
  {value_display} AS value_display,
  {expected_display} AS expected_display,
  {detail_display} AS detail_display,
  {record_display} AS record_display,
  {patient_display} AS patient_display,
  {record_id_display} AS record_id_display,
  {fhir_id_display} AS fhir_id_display
FROM dq_issue i
"""
    return f"""
CREATE OR REPLACE TEMP TABLE dq_issue_display AS
WITH d AS ({base})
SELECT d.*,
  {_render('r.message')} AS message,
  {_render('r.fix_hint')} AS fix_hint
FROM d JOIN dq_rule r USING (rule_id)
ORDER BY CASE d.severity WHEN 'fatal' THEN 0 WHEN 'error' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END,
         d.site_id, d.rule_id, d.source_file NULLS LAST, d.source_row NULLS LAST, d.fingerprint
"""
