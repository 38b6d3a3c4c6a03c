"""Evaluation: answer normalisation and parsing (``normalize``) and answer metrics (``metrics``)."""
