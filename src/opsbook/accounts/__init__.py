"""People and machines that may use opsbook: users, API tokens, web sessions and roles."""
