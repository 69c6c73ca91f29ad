"""cart_registry: harmonize multi-site CAR T-cell therapy registry exports.

Site exports (REDCap/CSV, FHIR R4) are mapped into one canonical standard (declared once in
``schemas/``), validated, loaded into an embedded DuckDB warehouse where SQL views compute the
study endpoints, and summarised by R-compatible survival statistics.
"""

__version__ = "0.1.0"
