"""The Telegram layer: python-telegram-bot application, handlers, delivery, sender, polling leader.

The only place that imports telegram.
"""
