"""The compose core: schema, YAML load/export, ${...} bindings and the job graph.

Pure Python: never imports Django, torch or transformers.
"""
