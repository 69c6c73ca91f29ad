"""Canonical Parquet store: per-submission partitions, ingest issues, ledgers and manifests."""
