"""The room socket (PROTOCOL.md): join, one writer per participant, and a handler per message family.

``socket`` upgrades and reads; ``join`` admits, enters and leaves; ``dispatch``
holds the table of message types; ``chat``, ``media``, ``stage``,
``moderation`` and ``desk`` hold the handlers.
"""
