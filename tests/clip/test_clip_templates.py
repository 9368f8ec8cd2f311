"""Templates of the library: filling, CoOp's ImageNet ensemble, the default for datasets without one.
(The datasets' own templates are facts of their classes: tests/datasets/test_ds_catalog.py.)"""
from clipfit.clip import DEFAULT_TEMPLATE, IMAGENET_TEMPLATES_SELECT, prompt_for, resolve_template


def test_prompts_turn_underscores_into_spaces():
    pet = "a photo of a {}, a type of pet."
    assert prompt_for(pet, "great_pyrenees") == "a photo of a great pyrenees, a type of pet."
    ucf = "a photo of a person doing {}."
    assert [prompt_for(ucf, n) for n in ["Apply_Eye_Makeup"]] == ["a photo of a person doing Apply Eye Makeup."]


def test_imagenet_select_templates():
    assert len(IMAGENET_TEMPLATES_SELECT) == 7
    assert IMAGENET_TEMPLATES_SELECT[0] == "itap of a {}."
    assert IMAGENET_TEMPLATES_SELECT[-1] == "a photo of the small {}."


def test_a_dataset_without_a_template_gets_the_default_with_one_notice(capsys):
    assert resolve_template(None, "MyDemoSet") == DEFAULT_TEMPLATE == "a photo of a {}."
    assert resolve_template("", "MyDemoSet") == DEFAULT_TEMPLATE
    assert resolve_template("{} texture.", "MyDemoSet") == "{} texture."
    out = capsys.readouterr().out
    assert out.count("no prompt template for dataset 'MyDemoSet'") == 1
