"""python -m climatune.chat: serve the chat UI (see climatune.chat.app)."""

from .app import main

raise SystemExit(main())
