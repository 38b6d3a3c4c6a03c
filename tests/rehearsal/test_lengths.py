"""Real prompt lengths, the fast check: the tiny families at their real processors' image settings turn page-sized
pictures of the local benchmark copies into thousands of tokens, which the drift monitor keeps at paper.yaml's
max_length and would have dropped, every one, at the old 512. The whole rehearsal at these lengths is a slow test
(tests/rehearsal/test_run.py)."""

from types import SimpleNamespace

import pytest

from lmmcl.data.datamodule import SkillSequence
from lmmcl.errors import LmmclError
from lmmcl.eval.drift import DriftMonitor
from lmmcl.models.processors import load_processor
from lmmcl.rehearsal.benchmarks import write_benchmarks
from lmmcl.rehearsal.run import model_dir


def test_page_sized_pictures_make_prompts_of_thousands_of_tokens_that_drift_keeps(tmp_path, monkeypatch):
    monkeypatch.setenv("LMMCL_DATA_DIR", str(write_benchmarks(tmp_path / "data", ["docvqa", "chartqa"], rows=4,
                                                               page_sizes=True)))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    module = SimpleNamespace(processor=load_processor(model_dir("qwen2_5_vl", "real")))
    def run(max_length):
        return SimpleNamespace(datamodule=SkillSequence(["species"], ["docvqa", "chartqa"], max_length=max_length))
    batches = DriftMonitor(n=8)._prompts(run(32768), module)  # some drawn records are the copies' bad ones
    lengths = sorted(n for b in batches for n in b["attention_mask"].sum(1).tolist())
    assert len(lengths) >= 4 and lengths[-1] >= 4000 and lengths[0] >= 500, lengths  # pages 4,846, charts 607
    with pytest.raises(LmmclError, match="every sample was dropped"):
        DriftMonitor(n=8)._prompts(run(512), module)
