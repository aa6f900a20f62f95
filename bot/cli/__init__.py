"""The aftercare command line: one module per sub-command group, and the terminal demo; what it
prints for a person is in texts.yaml (read through texts.py)."""
