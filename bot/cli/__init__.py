"""The aftercare command line: one module per sub-command group, and the terminal demo."""
