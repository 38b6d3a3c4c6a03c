"""SkillGallery: a grid per benchmark, from the test split where a benchmark has no train split, on a bounded canvas."""

from types import SimpleNamespace

from lmmcl.data.show import THUMB, SkillGallery, main
from lmmcl.data.skill import get_skill


class Images:
    def __init__(self):
        self.shapes = {}

    def add_image(self, tag, grid, dataformats, global_step=None):  # a SummaryWriter's, as the loggers get them
        self.shapes[tag] = grid.shape

    def add_text(self, tag, text, global_step=None):
        pass

    def flush(self):
        pass


def test_gallery_shows_held_out_benchmarks_from_their_test_split_in_thumbnails(local_benchmarks):
    local_benchmarks(["docvqa"], rows=4)  # test split only; one of its pictures is 4200 x 4200
    images = Images()
    trainer = SimpleNamespace(is_global_zero=True, loggers=[images],
                              datamodule=SimpleNamespace(benchmarks=[get_skill("docvqa"), get_skill("color")]))
    SkillGallery(n=8).on_fit_start(trainer, None)
    assert set(images.shapes) == {"skills/docvqa", "skills/color"}
    height, width, _ = images.shapes["skills/docvqa"]
    assert width <= 4 * (THUMB + 6) + 6 and height <= 2 * (THUMB + 84 + 6) + 22  # 8 cells of at most THUMB pixels


def test_show_defaults_to_the_test_split_of_a_held_out_benchmark(local_benchmarks, tmp_path, capsys):
    local_benchmarks(["docvqa"], rows=2)
    assert main(["docvqa", "--n", "2", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "docvqa.png").exists()
