"""Second factors: TOTP codes from an authenticator app, recovery codes, and WebAuthn passkeys."""
