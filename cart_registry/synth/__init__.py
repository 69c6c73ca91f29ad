"""Synthetic multi-site CAR T registry: a deterministic generator and site export renderers.

Truth first, then renderers: ``truth.generate_truth(preset, seed)`` builds the registry in
canonical form (design.py pins the abstract's numbers; abstract.py dates the patients;
timeline.py writes their rows; site_view.py limits them to what each format can say), then
render_redcap.py, render_edc.py and render_fhir.py write each site's export from it;
defects.py injects known faults with an answer key; scale.py streams the benchmark preset.
``api.synthesize`` is the entry point behind ``cart-registry synth``.

Importing this package is cheap (no polars, pandas or numpy at import time).
"""
