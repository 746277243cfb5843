"""The polyglot layer: phases, routing repository, replication, resilience, verify."""
