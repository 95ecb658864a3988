"""Rich views, one module per command, drawing from the result objects only."""
