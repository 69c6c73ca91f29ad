"""Dispatch to the renderer of a site's export format."""

from __future__ import annotations

from cart_registry.synth.catalog import SITE_EDC, SITE_FHIR, SITE_REDCAP
from cart_registry.synth.files import Index, SiteExport
from cart_registry.synth.truth import Truth


def render_site(truth: Truth, site: str, index: Index | None = None) -> SiteExport:
    if site == SITE_REDCAP:
        from cart_registry.synth.render_redcap import render_redcap

        return render_redcap(truth, index)
    if site == SITE_EDC:
        from cart_registry.synth.render_edc import render_edc

        return render_edc(truth, index)
    if site == SITE_FHIR:
        from cart_registry.synth.render_fhir import render_fhir

        return render_fhir(truth, index)
    raise ValueError(f"unknown site {site!r}")
