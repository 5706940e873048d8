"""Built-in maintenance: the actions of the pg and logs domains, and the samples they record."""
