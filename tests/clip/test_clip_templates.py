from clipfit.clip import (
    CLIPFIT_TEMPLATES,
    DEFAULT_TEMPLATE,
    IMAGENET_TEMPLATES_SELECT,
    ZSCLIP_TEMPLATES,
    prompt_for,
    prompts_for,
    template_for,
)

DATASETS = {
    "OxfordPets", "OxfordFlowers", "FGVCAircraft", "DescribableTextures", "EuroSAT", "StanfordCars", "Food101",
    "SUN397", "Caltech101", "UCF101", "ImageNet", "ImageNetSketch", "ImageNetV2", "ImageNetA", "ImageNetR",
}


def test_tables_cover_the_15_datasets_and_differ_only_in_dtd():
    assert set(CLIPFIT_TEMPLATES) == set(ZSCLIP_TEMPLATES) == DATASETS
    differing = {k for k in DATASETS if CLIPFIT_TEMPLATES[k] != ZSCLIP_TEMPLATES[k]}
    assert differing == {"DescribableTextures"}
    assert CLIPFIT_TEMPLATES["DescribableTextures"] == "a photo of a {}, a type of texture."
    assert ZSCLIP_TEMPLATES["DescribableTextures"] == "{} texture."


def test_paper_templates():
    assert CLIPFIT_TEMPLATES["OxfordPets"] == "a photo of a {}, a type of pet."
    assert CLIPFIT_TEMPLATES["EuroSAT"] == "a centered satellite photo of {}."
    assert CLIPFIT_TEMPLATES["Food101"] == "a photo of {}, a type of food."
    assert CLIPFIT_TEMPLATES["UCF101"] == "a photo of a person doing {}."
    assert CLIPFIT_TEMPLATES["ImageNetR"] == CLIPFIT_TEMPLATES["SUN397"] == "a photo of a {}."


def test_prompts_turn_underscores_into_spaces():
    pet = "a photo of a {}, a type of pet."
    assert prompt_for(pet, "great_pyrenees") == "a photo of a great pyrenees, a type of pet."
    assert prompts_for("UCF101", ["Apply_Eye_Makeup"]) == ["a photo of a person doing Apply Eye Makeup."]


def test_imagenet_select_templates():
    assert len(IMAGENET_TEMPLATES_SELECT) == 7
    assert IMAGENET_TEMPLATES_SELECT[0] == "itap of a {}."
    assert IMAGENET_TEMPLATES_SELECT[-1] == "a photo of the small {}."


def test_unknown_dataset_gets_the_default_with_one_notice(capsys):
    assert template_for("MyDemoSet") == DEFAULT_TEMPLATE == "a photo of a {}."
    assert template_for("MyDemoSet") == DEFAULT_TEMPLATE
    out = capsys.readouterr().out
    assert out.count("no prompt template for dataset 'MyDemoSet'") == 1
