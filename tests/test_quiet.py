"""Which dependency warnings lmmcl silences: the listed ones, nothing else."""

import warnings

from lmmcl.quiet import silence_dependency_deprecations


def test_silences_lightnings_leafspec_deprecation_and_nothing_else():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # pytest's own filter for the same warning is not what is tested
        silence_dependency_deprecations()
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use `isinstance(treespec, TreeSpec) and "
                      "treespec.is_leaf()` instead.", FutureWarning, stacklevel=1)
        warnings.warn("`treespec.children_specs` is deprecated.", FutureWarning, stacklevel=1)
        # another category stays
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["`treespec.children_specs` is deprecated.",
                                                "`isinstance(treespec, LeafSpec)` is deprecated"]


def test_drops_lightnings_advertising_tip_and_no_other_notice():
    import logging

    from lightning.pytorch.utilities import rank_zero_info

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger("lightning.pytorch")
    keep = Keep()
    logger.addHandler(keep)
    try:
        silence_dependency_deprecations()
        silence_dependency_deprecations()  # twice: one filter
        rank_zero_info("💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]")
        rank_zero_info("GPU available: False, used: False")
    finally:
        logger.removeHandler(keep)
    assert records == ["GPU available: False, used: False"]
