"""Local, faithful stand-ins for the services pushsecret-temporal talks to (tests and demo only)."""
