"""``lmmcl <tool>`` subcommands that are not part of a run: ``compare``, ``recipes`` (``inspect``, with the
``memory`` model); the rest live next to what they inspect (``report``, ``train.plan``, ``data.show``, ``eval.*``)."""
