"""Bot: Telegram wiring, conversation handlers, the command-line interface and configuration."""
