"""The ``efcore9`` document format (see `codec`)."""
