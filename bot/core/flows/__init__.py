"""The patient conversation split by job; `bot.core.conversation.Conversation` dispatches to them.

* base.py: what every flow shares (`FlowKit`: stores, settings, clock, texts, state);
* onboarding.py: /start, invites, consent;
* advice.py: questions answered from the knowledge base, suggestions, "ask the clinic";
* sessions.py: treatment dates (buttons, typed dates), check-in planning;
* checkins.py: answers to check-in buttons;
* timezone.py: the time-zone picker and typed city names;
* privacy.py: /privacy, /mydata, /delete, /stop, /resume;
* staff_commands.py: /addsession and /invite for staff in private chats;
* media.py: stickers, voice, photos, group chats, blocks and unblocks.
"""
