"""Synthetic skill generators: ``targets`` (skills to teach), ``heldout`` (general abilities to keep) and
``language`` (base pre-training only: words to say).

Importing this package registers every generator (and the ``synthetic`` skill type) with
:mod:`lmmcl.data.synthetic`, which itself never imports them: the dependency points one way.
"""

from lmmcl.data.skills import heldout, language, targets  # noqa: F401
