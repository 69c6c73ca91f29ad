"""One submission: read a site export, map it, check it, account for every row, write it.

``ingest_submission(project, export_dir, site_id)`` is the entry point (the CLI's ``ingest``
and ``run`` commands and the benchmark call it); it returns an ``IngestResult``.
"""

from cart_registry.ingest.result import IngestResult
from cart_registry.ingest.run import ingest_submission

__all__ = ["IngestResult", "ingest_submission"]
