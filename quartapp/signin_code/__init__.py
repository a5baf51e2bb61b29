"""Sign in with a code by mail: a short code, mailed to a verified address, that works in the browser that asked."""
