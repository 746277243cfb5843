"""`mystira placement`: where each container lives, where the catalog says it belongs and
why, and whether the workload the running system recorded agrees."""
