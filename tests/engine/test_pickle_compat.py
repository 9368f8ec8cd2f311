"""Few-shot caches are interchangeable with real Dassl's, built here without importing Dassl."""
import io
import pickle
import pickletools
import sys
import types

import pytest

from clipfit.engine.data.base_dataset import Datum
from datasets._shared.datum_pickle import DatumUnpickler, dumps_datums, save_datum_pickle


def loads_datums(data):
    return DatumUnpickler(io.BytesIO(data), Datum).load()


def _dassl_written_bytes(image_file):
    """Pickle an object exactly as real Dassl would: a class living at dassl.data.datasets.base_dataset."""
    names = ["dassl", "dassl.data", "dassl.data.datasets", "dassl.data.datasets.base_dataset"]
    saved = {n: sys.modules.get(n) for n in names}
    try:
        for n in names:
            sys.modules[n] = types.ModuleType(n)
        module = sys.modules["dassl.data.datasets.base_dataset"]

        class ForeignDatum:
            pass

        ForeignDatum.__module__ = module.__name__
        ForeignDatum.__qualname__ = ForeignDatum.__name__ = "Datum"
        module.Datum = ForeignDatum
        item = ForeignDatum()
        item.__dict__.update({"_impath": image_file, "_label": 4, "_domain": 0, "_classname": "pug"})
        return pickle.dumps({"train": [item], "val": [item]}, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def _global_refs(data):
    refs, strings = [], []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        if op.name == "STACK_GLOBAL":
            refs.append(tuple(strings[-2:]))
        if op.name == "GLOBAL":
            refs.append(tuple(arg.split(" ")))
    return refs


def test_dassl_written_cache_loads_without_dassl(image_file):
    assert "dassl" not in sys.modules
    data = loads_datums(_dassl_written_bytes(image_file))
    item = data["train"][0]
    assert isinstance(item, Datum)
    assert (item.impath, item.label, item.domain, item.classname) == (image_file, 4, 0, "pug")
    assert data["val"][0] is item


def test_our_cache_names_dassl_class_path(image_file):
    data = dumps_datums({"train": [Datum(image_file, 1, 0, "cat")]})
    assert _global_refs(data) == [("dassl.data.datasets.base_dataset", "Datum")]
    state = [arg for op, arg, _ in pickletools.genops(data) if op.name == "SHORT_BINUNICODE"]
    assert state[:5] == ["train", "dassl.data.datasets.base_dataset", "Datum", "_impath", image_file]


def test_our_cache_loads_in_a_real_dassl_like_environment(image_file, tmp_path):
    """A stock Unpickler resolves the class through sys.modules, as it would with Dassl installed."""
    path = tmp_path / "shot_1-seed_1.pkl"
    save_datum_pickle({"train": [Datum(image_file, 1, 0, "cat")], "val": []}, str(path))
    module = types.ModuleType("dassl.data.datasets.base_dataset")

    class DasslDatum:
        @property
        def impath(self):
            return self._impath

    module.Datum = DasslDatum
    names = ["dassl", "dassl.data", "dassl.data.datasets"]
    try:
        for n in names:
            sys.modules[n] = types.ModuleType(n)
        sys.modules[module.__name__] = module
        with open(path, "rb") as f:
            loaded = pickle.load(f)
    finally:
        for n in names + [module.__name__]:
            sys.modules.pop(n, None)
    assert isinstance(loaded["train"][0], DasslDatum)
    assert loaded["train"][0].impath == image_file
    assert loaded["train"][0].__dict__ == {"_impath": image_file, "_label": 1, "_domain": 0, "_classname": "cat"}


def test_round_trip_and_atomic_file(image_file, tmp_path):
    path = tmp_path / "c.pkl"
    save_datum_pickle({"train": [Datum(image_file, 2, 0, "x")]}, str(path))
    assert loads_datums(path.read_bytes())["train"][0].label == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pkl", "img.jpg"]


def test_datum_requires_existing_file(tmp_path):
    with pytest.warns(UserWarning, match="No file found at"), pytest.raises(AssertionError):
        Datum(str(tmp_path / "missing.jpg"))


def test_fast_and_portable_picklers_agree(image_file):
    from datasets._shared.datum_pickle import _DasslPathPickler

    obj = {"train": [Datum(image_file, i % 3, 0, f"c{i % 3}") for i in range(50)], "val": []}
    fast = dumps_datums(obj)
    buffer = io.BytesIO()
    _DasslPathPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    slow = buffer.getvalue()
    assert _global_refs(fast) == _global_refs(slow) == [("dassl.data.datasets.base_dataset", "Datum")]
    a, b = loads_datums(fast), loads_datums(slow)
    assert [x.__dict__ for x in a["train"]] == [x.__dict__ for x in b["train"]]


def test_the_neutral_module_names_the_engine_datum_by_its_real_path():
    """datasets._shared.datum_pickle imports no engine, so it names the engine's Datum by path: keep them equal."""
    from datasets._shared.datum_pickle import ENGINE_DATUM_PATH

    assert (Datum.__module__, Datum.__qualname__) == ENGINE_DATUM_PATH
