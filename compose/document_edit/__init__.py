"""Edits of a compose document in its own text and dialect (the exporter's parts).

Above ``compose.loader`` and ``compose.dialects``: it reads the parsed document to find
where a field is written. ``compose.yamlio`` below holds only YAML text tools.
"""
