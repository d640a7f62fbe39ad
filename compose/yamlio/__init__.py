"""YAML reading with line marks, and text edits that keep comments."""
