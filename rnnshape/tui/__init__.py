"""Full-screen terminal apps (textual), started by their command (rnnshape explore).

Like the command line, they are callers of the Python API: they hold controls and show
results, nothing else. Only this package imports textual, and only when a command opens a
screen: ``import rnnshape`` and every other command never do.
"""
