"""The web plumbing in front of the views: the gate, cookies, request bodies, headers, error pages."""
