"""The write path: repository, cascades, shadow reads, secondary queue and writer process."""
