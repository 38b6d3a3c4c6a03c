"""LineProgress: plain progress lines at the given step interval and at the last step."""

import lightning as L
import torch

from lmmcl.train.progress import LineProgress


class Line(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit(callback: LineProgress, steps: int) -> None:
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(steps, 2)), batch_size=1)
    L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, callbacks=[callback]).fit(Line(), data)


def test_prints_every_interval_and_the_last_step_with_loss_and_time_left(capsys):
    fit(LineProgress("warm-up", every=4), steps=10)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[lmmcl]")]
    assert [line.split(":")[0] for line in lines] == [f"[lmmcl] warm-up step {i}/10" for i in (4, 8, 10)]
    assert all("loss " in line and "nan" not in line and "min left" in line for line in lines)


def test_default_interval_is_a_twentieth_of_the_run(capsys):
    fit(LineProgress("build"), steps=40)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[lmmcl] build")]
    assert len(lines) == 20 and lines[-1].startswith("[lmmcl] build step 40/40")
