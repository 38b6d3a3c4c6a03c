"""Synthetic skill generators: ``targets`` (skills to teach) and ``heldout`` (general abilities to keep).

Importing this package registers every generator (and the ``synthetic`` skill type) with
:mod:`lmmcl.data.synthetic`, which itself never imports them: the dependency points one way.
"""

from lmmcl.data.skills import heldout, targets  # noqa: F401
