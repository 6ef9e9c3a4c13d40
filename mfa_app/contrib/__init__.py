"""Optional integrations with other packages; each imports its package, the core does not."""
