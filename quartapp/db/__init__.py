"""The database: the engine and its sessions, the one-row reader of every signed-in request, the models, migrations."""
