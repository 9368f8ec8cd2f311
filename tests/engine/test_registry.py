import pytest

from clipfit.engine.registry import Registry, check_availability, get_most_similar_str_to_a_from_b


def test_register_decorator_and_get():
    reg = Registry("TRAINER")

    @reg.register()
    class CoOp:
        pass

    assert reg.get("CoOp") is CoOp
    assert reg.registered_names() == ["CoOp"]


def test_duplicate_name_raises_dassl_message():
    reg = Registry("DATASET")

    class OxfordPets:
        pass

    reg.register(OxfordPets)
    with pytest.raises(KeyError) as e:
        reg.register(OxfordPets)
    assert e.value.args[0] == 'An object named "OxfordPets" was already registered in "DATASET" registry'
    reg.register(OxfordPets, force=True)


def test_unknown_name_raises_dassl_message():
    reg = Registry("EVALUATOR")
    with pytest.raises(KeyError) as e:
        reg.get("Nope")
    assert e.value.args[0] == 'Object name "Nope" does not exist in "EVALUATOR" registry'


def test_check_availability_names_closest():
    with pytest.raises(ValueError) as e:
        check_availability("ClipFt", ["CoOp", "CLIPFit", "CoCoOp"])
    assert str(e.value) == (
        "The requested one is expected to belong to ['CoOp', 'CLIPFit', 'CoCoOp'], "
        "but got [ClipFt] (do you mean [CLIPFit]?)"
    )


def test_closest_tie_prefers_later_candidate():
    assert get_most_similar_str_to_a_from_b("ab", ["ax", "ay"]) == "ay"


def test_builders_reject_unknown_names():
    from clipfit.compat import build_evaluator, build_trainer, get_cfg_default

    cfg = get_cfg_default()
    cfg.TRAINER.NAME = "NoSuchTrainer"
    with pytest.raises(ValueError, match=r"but got \[NoSuchTrainer\]"):
        build_trainer(cfg)
    cfg.TEST.EVALUATOR = "Clasification"
    with pytest.raises(ValueError, match=r"do you mean \[Classification\]"):
        build_evaluator(cfg)


def test_build_dataset_rejects_unknown_names():
    from clipfit.app.plugins import import_plugins
    from clipfit.compat import build_dataset
    from clipfit.config import get_cfg

    import_plugins()
    cfg = get_cfg()
    cfg.DATASET.NAME = "OxfordPet"
    with pytest.raises(ValueError, match=r"but got \[OxfordPet\] \(do you mean \[OxfordPets\]\?\)"):
        build_dataset(cfg)
