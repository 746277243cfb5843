"""The write path: repository, cascades, shadow reads, secondary queue and writer process."""

# Public modules, imported by name (none is loaded by importing the package).
__all__ = ["cascade", "guarded", "repository", "secondary", "shadow", "writer_process"]
