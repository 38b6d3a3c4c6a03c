"""Warnings from dependencies that nobody running lmmcl can act on, silenced once per process."""

import warnings

# lightning's pytree helper still builds torch's LeafSpec, which torch 2.13 deprecates: lines in every run, base build
# and probe that point at lightning's code, not the user's
LEAFSPEC = r"`isinstance\(treespec, LeafSpec\)` is deprecated"


def silence_dependency_deprecations() -> None:
    """Ignore the dependency deprecation warnings listed in this module (and only those)."""
    warnings.filterwarnings("ignore", LEAFSPEC, FutureWarning)
