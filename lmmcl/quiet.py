"""Warnings and notices from dependencies that nobody running lmmcl can act on, silenced once per process."""

import logging
import warnings

# lightning's pytree helper still builds torch's LeafSpec, which torch 2.13 deprecates: lines in every run, base build
# and probe that point at lightning's code, not the user's
LEAFSPEC = r"`isinstance\(treespec, LeafSpec\)` is deprecated"


# lightning advertises its cloud logger in the first lines of every run ("💡 Tip: For seamless cloud logging ...")
TIP = "💡 Tip:"
NOTICE_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


class DropTips(logging.Filter):
    """Drops lightning's advertising tips, passes every other record."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(TIP)


def silence_dependency_deprecations() -> None:
    """Ignore the dependency deprecation warnings and notices listed in this module (and only those)."""
    warnings.filterwarnings("ignore", LEAFSPEC, FutureWarning)
    for name in NOTICE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropTips) for f in logger.filters):
            logger.addFilter(DropTips())
