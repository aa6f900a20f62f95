"""Knowledge: the FAQ knowledge base, its loader, the matcher and red-flag triage.

Pure logic: nothing here talks to Telegram or a database; the only I/O is reading YAML files.
"""
