"""Passkeys (WebAuthn): registering them, signing in with them, and the JSON both ceremonies speak."""
