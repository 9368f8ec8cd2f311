"""ZeroshotCLIP / ZeroshotCLIP2: text features against independent full-context computations, eval-only runs."""
import copy
import types

import pytest
import torch
import torch.nn.functional as F
from _helpers_baselines import FAST_OPTS, accuracy, make_trainer, run_train_py, write_demo

from clipfit.clip import IMAGENET_TEMPLATES_SELECT, TextEncoder, ensemble_text_features, tokenize
from clipfit.compat import DATASET_REGISTRY
from clipfit.errors import UserInputError
from clipfit.testing.fixtures import make_dataset_fixture

CONFIG = "configs/trainers/CoOp/vit_b16.yaml"
DTD = "configs/datasets/dtd.yaml"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def dtd_root(tmp_path_factory):
    """The DescribableTextures fixture (3 textures), for CoOp's DTD template."""
    root = str(tmp_path_factory.mktemp("dtd"))
    make_dataset_fixture(root, "DescribableTextures", with_split_json=True)
    return root


def _full_context_features(clip, template, classnames):
    """CLIP's own encode_text on the 77-token prompts, normalised."""
    texts = [template.format(name.replace("_", " ")) for name in classnames]
    with torch.no_grad():
        return F.normalize(clip.encode_text(tokenize(texts)), dim=-1)


def _assert_features_are_the_full_context_ones(trainer, templates):
    """The model's features are `ensemble_text_features` of its CLIP, which equals the mean of CLIP's own
    77-token features over the templates, renormalised; that equality is checked in float64, where a
    1e-10 tolerance holds on any CPU (fp32 rounding would depend on it)."""
    classnames = trainer.dm.dataset.classnames
    clip = trainer.model.clip
    with torch.no_grad():
        # Same fp32 computation twice: on some CPUs a second call rounds differently (kernels pick
        # alignment-dependent paths), so allow a few ulps of the unit-norm features (eps 1.2e-7).
        torch.testing.assert_close(trainer.model.class_text_features(),
                                   ensemble_text_features(TextEncoder(clip), classnames, templates),
                                   atol=1e-6, rtol=0)
        clip64 = copy.deepcopy(clip).double()
        mean = torch.stack([_full_context_features(clip64, t, classnames) for t in templates]).mean(0)
        got = ensemble_text_features(TextEncoder(clip64), classnames, templates)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, mean / mean.norm(dim=-1, keepdim=True), atol=1e-10, rtol=1e-10)


@pytest.mark.numeric
def test_zeroshot_clip_uses_coop_dtd_template_and_trains_nothing(dtd_root, tmp_path):
    trainer = make_trainer(dtd_root, tmp_path, "ZeroshotCLIP", CONFIG, dataset_config=DTD)
    assert trainer.trained_module() is None and trainer.get_model_names() == []
    assert trainer.num_trainable() == 0
    _assert_features_are_the_full_context_ones(trainer, ["{} texture."])
    with pytest.raises(UserInputError, match="nothing is trainable"):
        trainer.train()


@pytest.mark.numeric
def test_zeroshot_clip2_averages_normalised_template_features_without_accumulating(dtd_root, tmp_path):
    for run in range(2):  # a second trainer in one process must not see the custom template twice
        trainer = make_trainer(dtd_root, tmp_path / str(run), "ZeroshotCLIP2", CONFIG, dataset_config=DTD)
        templates = trainer.templates()
        assert templates == [*IMAGENET_TEMPLATES_SELECT, "{} texture."]
        _assert_features_are_the_full_context_ones(trainer, templates)
    assert len(IMAGENET_TEMPLATES_SELECT) == 7


def test_imagenet_ensemble_has_no_custom_template(data_root, tmp_path, monkeypatch):
    trainer = make_trainer(data_root, tmp_path, "ZeroshotCLIP2", CONFIG)
    monkeypatch.setattr(trainer, "cfg", trainer.cfg.clone())
    trainer.cfg.defrost()
    trainer.cfg.DATASET.NAME = "ImageNet"
    assert trainer.templates() == IMAGENET_TEMPLATES_SELECT
    trainer.cfg.DATASET.NAME = "ImageNetV2"
    monkeypatch.setattr(trainer.dm, "dataset", object.__new__(DATASET_REGISTRY.get("ImageNetV2")))
    assert trainer.templates()[-1] == "a photo of a {}."


def test_the_template_is_the_dataset_class_fact_or_the_default(data_root, tmp_path, monkeypatch, capsys):
    trainer = make_trainer(data_root, tmp_path, "ZeroshotCLIP", CONFIG)
    assert trainer.templates() == ["a photo of a {}."]  # DemoShapes' own
    assert 'Prompt template: "a photo of a {}." (e.g. "a photo of a blue triangle.")' in capsys.readouterr().out
    # a third-party Dassl dataset has no `template`: the default, with a notice
    monkeypatch.setattr(trainer.dm, "dataset", types.SimpleNamespace())
    monkeypatch.setattr(trainer, "cfg", trainer.cfg.clone())
    trainer.cfg.defrost()
    trainer.cfg.DATASET.NAME = "SomeDasslDataset"
    assert trainer.templates() == ["a photo of a {}."]
    assert "no prompt template for dataset 'SomeDasslDataset'" in capsys.readouterr().out


def test_train_py_eval_only_without_model_dir_prints_the_skip_note_and_accuracy(dtd_root, tmp_path):
    output = run_train_py("--root", dtd_root, "--trainer", "ZeroshotCLIP", "--dataset-config-file", DTD,
                          "--config-file", CONFIG, "--output-dir", tmp_path, "--eval-only", *FAST_OPTS)
    assert "Note that load_model() is skipped as no pretrained model is given" in output
    assert 'Prompt template: "{} texture."' in output
    assert 0.0 <= accuracy(output) <= 100.0
