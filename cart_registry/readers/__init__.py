"""Readers turn a site's files into source tables of text, with their locations."""
