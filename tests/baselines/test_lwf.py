"""LwF: KL to the stage-start model, on the positions that predict answer tokens only."""

import pytest
import torch

from lmmcl.baselines.lwf import LwF, lwf_loss
from lmmcl.data.collate import IGNORE_INDEX, answer_positions
from lmmcl.data.datamodule import SkillDataModule
from lmmcl.train.module import LMMModule
from lmmcl.train.recipes import apply_recipe, get_recipe


def _labels() -> torch.Tensor:
    labels = torch.full((2, 8), IGNORE_INDEX)
    labels[0, 5:7] = torch.tensor([11, 12])  # answer tokens at 5, 6: predicted by the logits at 4, 5
    labels[1, 3:8] = torch.tensor([7, 8, 9, 10, 2])  # predicted by 2..6; the last position predicts nothing
    return labels


def test_answer_positions_are_shifted_by_one():
    keep = answer_positions(_labels())
    assert keep[0].nonzero().flatten().tolist() == [4, 5]
    assert keep[1].nonzero().flatten().tolist() == [2, 3, 4, 5, 6]


def test_zero_when_student_equals_teacher_and_positive_otherwise():
    torch.manual_seed(0)
    teacher = torch.randn(2, 8, 50)
    assert lwf_loss(teacher.clone(), teacher, _labels()).item() == 0.0
    student = teacher.clone()
    student[0, 4] += torch.randn(50)
    assert lwf_loss(student, teacher, _labels()).item() > 0.0


def test_only_answer_positions_contribute():
    torch.manual_seed(0)
    teacher, student = torch.randn(2, 8, 50), torch.randn(2, 8, 50)
    labels = _labels()
    reference = lwf_loss(student, teacher, labels)
    keep = answer_positions(labels)
    for row in range(2):
        for pos in range(8):
            changed_student, changed_teacher = student.clone(), teacher.clone()
            changed_student[row, pos] += 5 * torch.randn(50)
            changed_teacher[row, pos] -= 5 * torch.randn(50)
            value = lwf_loss(changed_student, changed_teacher, labels)
            if keep[row, pos]:
                assert not torch.equal(value, reference), (row, pos)
            else:  # including the answer tokens' own positions, whose logits predict the next token
                assert torch.equal(value, reference), (row, pos)


def test_temperature_and_weight():
    torch.manual_seed(0)
    teacher, student = torch.randn(2, 8, 50), torch.randn(2, 8, 50)
    keep = answer_positions(_labels())
    p = torch.softmax(teacher[keep] / 2, -1)
    expected = 4 * (p * (p.log() - torch.log_softmax(student[keep] / 2, -1))).sum(-1).mean()
    torch.testing.assert_close(lwf_loss(student, teacher, _labels(), temperature=2.0), expected)


@pytest.fixture(scope="module")
def module_and_batch():
    module = LMMModule("tiny_scratch")
    data = SkillDataModule("count", train_size=4, batch_size=4)
    data.processor = module.processor
    return module, next(iter(data.train_dataloader()))


def test_the_teacher_is_the_stage_start_model_and_copies_only_what_trains(module_and_batch):
    module, batch = module_and_batch
    names = apply_recipe(module.model, get_recipe("mlp_gate_up"), module.preset.components)
    lwf = LwF(temperature=2.0, weight=1.0)
    lwf.on_train_epoch_start(None, module)
    assert sorted(lwf.teacher) == sorted(names)  # frozen parameters are shared, never copied
    module.model.eval()  # no dropout: the student is the teacher
    output = module.model(**module.model_inputs(batch))
    # zero up to float rounding: the teacher's copied weights sit elsewhere in memory, and on some CPUs
    # the matmul kernels round differently by address (CI measured -3.8e-10)
    assert abs(lwf.loss(module, batch, output).item()) < 1e-6
    with torch.no_grad():
        module.model.model.language_model.layers[-1].mlp.up_proj.weight.add_(0.5)
    output = module.model(**module.model_inputs(batch))
    loss = lwf.loss(module, batch, output)
    assert loss.item() > 0.0 and loss.requires_grad
    # the sliced teacher equals a full forward of the old weights
    teacher = torch.func.functional_call(module.model, lwf.teacher, args=(), kwargs=module.model_inputs(batch)).logits
    torch.testing.assert_close(loss, lwf_loss(output.logits, teacher, batch["labels"]))
    assert module.model.training is False  # the teacher forward restored the mode it found
