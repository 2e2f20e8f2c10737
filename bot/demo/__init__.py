"""The demo: the real bot against a Bot API server inside the process, no token needed.

`bot_api` is that server (the tests' fake Telegram too); `script` plays a specialist and
a client through it and prints what each of them sees.
"""
