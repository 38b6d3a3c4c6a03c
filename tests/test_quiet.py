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


def test_drops_lightnings_advertising_tip_and_no_other_notice(lightning_lines):
    from lightning.pytorch.utilities import rank_zero_info

    silence_dependency_deprecations()
    silence_dependency_deprecations()  # twice: one filter
    rank_zero_info("💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]")
    rank_zero_info("GPU available: False, used: False")
    assert lightning_lines == ["GPU available: False, used: False"]
