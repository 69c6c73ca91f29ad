"""Analysis exports: ADaM-style ADSL/ADTTE (CSV, Parquet, SAS XPT) and the canonical tables."""

from cart_registry.exports.adam import ExportedFile, ExportResult, export_adam, neutralise

__all__ = ["ExportResult", "ExportedFile", "export_adam", "neutralise"]
