"""The conversation core: flows with patients and the staff desk, replies and their wording.

No telegram import here.
"""
