"""Measured facts per command: one Check type, one tolerance policy; cells.py recomputes the cells in numpy."""
