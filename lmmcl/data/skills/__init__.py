"""Synthetic skill generators: ``targets`` (skills to teach) and ``heldout`` (general abilities to keep)."""
