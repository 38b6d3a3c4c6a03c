"""The base's pre-training mixture: every skill trained together; train-only skills never scored."""

from types import SimpleNamespace

from lmmcl.data.datamodule import SkillMixture


def test_train_only_skills_are_trained_in_the_mixture_and_never_evaluated():
    mixture = SkillMixture(["color"], train_only=["words"], train_size=4, test_size=4)
    mixture.parts[0].processor = SimpleNamespace(tokenizer=None)  # the collate is not called here
    data = mixture.train_dataloader().dataset
    questions = [data[i].question for i in range(len(data))]
    assert len(questions) == 8 and questions.count("Say a few words.") == 4
    assert [p.name for p in mixture.eval_modules] == ["color"] and mixture.heldout_names == ["color"]
    assert [s.name for s in mixture.benchmarks] == ["color"]
