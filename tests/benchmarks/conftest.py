"""The benchmarks' quiet() silences Lightning and transformers for the whole process: put their levels back after
each benchmark test, so later tests still hear what those loggers say."""

import logging

import pytest

LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "transformers")


@pytest.fixture(autouse=True)
def restore_logger_levels():
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
