"""A way back in by mail: the address and its verification, password resets, and their one-use links."""
