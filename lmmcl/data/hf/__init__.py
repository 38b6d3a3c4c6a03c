"""Real benchmarks: Hugging Face datasets (or local copies of them) turned into :class:`Sample` lists by YAML.

A skill YAML with ``type: hf`` says, for each lmmcl split ("train", "test"), where the rows live and how a
row becomes a sample. Skill-wide keys (``metric``, ``kind``, ``chance``, ``max_new_tokens``) sit at the top;
every :class:`Source` key may sit at the top too, as a default that ``splits.<split>`` overrides.

Where the rows come from, first found wins:

1. a local copy: ``data_dir`` or ``$LMMCL_DATA_DIR/<skill>``, holding for each split ``<split>/`` (a
   ``save_to_disk`` directory or a folder of Parquet/Arrow files), ``<split>.parquet`` or ``<split>.arrow``,
   or the whole skill as one saved ``DatasetDict``;
2. the Hugging Face cache under ``HF_HOME``, read offline.

lmmcl never waits on the network: it contacts the Hub only when ``HF_DATASETS_OFFLINE=0`` (or
``HF_HUB_OFFLINE=0``) is set explicitly, so a missing dataset fails in milliseconds with a message that
names it, where lmmcl looked, and how to provide it.

Bad records (empty question, missing or unusable answer, missing or undecodable image) are skipped and
counted in ``dataset.bad_records`` with a logged warning (reasons: :mod:`lmmcl.data.bad`). Images are decoded
only when an item is read, so an undecodable one makes ``__getitem__`` return a falsy ``BadRecord``, which the
collate drops and counts; an image over ``max_image_pixels`` is downscaled as it is read.

Modules: ``source`` (the YAML), ``answers`` and ``formats`` (a row -> a sample), ``location`` (where the
rows are), ``dataset`` (reading them), ``skill`` (the ``hf`` skill type, registered on import).
"""

from lmmcl.data.hf.dataset import HFDataset, bounded
from lmmcl.data.hf.location import downloads_allowed, hub_cache_dirs
from lmmcl.data.hf.skill import HFSkill
from lmmcl.data.hf.source import Source

__all__ = ["HFDataset", "HFSkill", "Source", "bounded", "downloads_allowed", "hub_cache_dirs"]
