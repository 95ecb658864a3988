"""The Python API: one module per command, options in, a result object out (no click, no rich views)."""
