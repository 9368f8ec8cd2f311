"""`clipfit with-dassl`: a third-party Dassl/CoOp-family repository (repo/, which imports only `dassl`) runs
unchanged on the built-in engine: trains, saves, reloads, resumes, parses, and shows in `clipfit report`."""
import os
import pickle
import re
import shutil
import subprocess
import sys
import textwrap
import types

import pytest
from PIL import Image

from clipfit.app import cli
from clipfit.dassl_shim import DASSL_MODULES, NOT_PROVIDED, SITE_DIR

HERE = os.path.dirname(os.path.abspath(__file__))
COLORS = {"blue": (20, 20, 230), "green": (20, 200, 20), "red": (230, 20, 20), "yellow": (230, 230, 20)}
B2N = "base2new/{role}/color_dots/shots_2/TinyProto/tiny/seed1"


def with_dassl(*cmd, cwd, env=None):
    proc = subprocess.run([sys.executable, "-m", "clipfit", "with-dassl", *map(str, cmd)], cwd=cwd,
                          env=dict(os.environ, CUDA_VISIBLE_DEVICES="", **(env or {})), capture_output=True, text=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    base = tmp_path_factory.mktemp("third_party")
    shutil.copytree(os.path.join(HERE, "repo"), base / "repo")
    for classname, rgb in COLORS.items():
        folder = base / "data" / "color_dots" / "images" / classname
        folder.mkdir(parents=True)
        for i in range(8):
            Image.new("RGB", (8, 8), tuple(min(255, c + 3 * i) for c in rgb)).save(folder / f"{i}.png")
    return base / "repo"


def _train(repo, out, *opts, trainer="TinyProto", extra=()):
    return with_dassl("python", "train.py", "--root", repo.parent / "data", "--seed", "1", "--trainer", trainer,
                      "--dataset-config-file", "configs/datasets/color_dots.yaml",
                      "--config-file", "configs/trainers/TinyProto/tiny.yaml", "--output-dir", out, *extra,
                      "DATASET.NUM_SHOTS", "2", *opts, cwd=repo)


def test_third_party_repo_trains_reloads_resumes_parses_and_reports(repo, capsys):
    out = repo / "output"
    base_dir = out / B2N.format(role="train_base")
    train = _train(repo, base_dir, "DATASET.SUBSAMPLE_CLASSES", "base", "TRAIN.CHECKPOINT_FREQ", "1")
    log = (base_dir / "log.txt").read_text()
    assert "Loading trainer: TinyProto\nLoading dataset: ColorDots\n" in log
    assert "SUBSAMPLE BASE CLASSES!" in log and "Building ColorNet for 2 classes" in log
    assert "TINYPROTO:" in log and "COCOOP" not in log  # clean_cfg kept only the run's trainer node
    assert sorted(os.listdir(base_dir / "color_net")) == ["checkpoint", "model.pth.tar-1", "model.pth.tar-2"]
    assert re.search(r"^epoch \[2/2\] batch \[2/2\] .* loss [\d.]+ \([\d.]+\) acc [\d.]+ \([\d.]+\) lr ", log, re.M)
    assert "Finish training\nDeploy the last-epoch model\nEvaluate on the *test* set\n=> result\n* total: 4\n" in log
    assert "clipfit" not in train.stderr  # no real Dassl here: nothing shadowed, nothing to say

    new_dir = out / B2N.format(role="test_new")
    _train(repo, new_dir, "DATASET.SUBSAMPLE_CLASSES", "new",
           extra=("--eval-only", "--model-dir", base_dir, "--load-epoch", "2"))
    new_log = (new_dir / "log.txt").read_text()
    assert f'Loading weights to color_net from "{base_dir}/color_net/model.pth.tar-2" (epoch = 2)' in new_log
    assert "SUBSAMPLE NEW CLASSES!" in new_log and re.search(r"^\* accuracy: [\d.]+%$", new_log, re.M)

    # as if killed after epoch 1 had been saved: resuming with the same settings runs epoch 2 again
    (base_dir / "color_net" / "model.pth.tar-2").unlink()
    (base_dir / "color_net" / "checkpoint").write_text("model.pth.tar-1\n")
    resumed = _train(repo, base_dir, "DATASET.SUBSAMPLE_CLASSES", "base", "TRAIN.CHECKPOINT_FREQ", "1").stdout
    assert f"Found checkpoint at {base_dir} (will resume training)" in resumed
    assert "Loaded optimizer\nLoaded scheduler\nPrevious epoch: 1\n" in resumed
    assert "epoch [2/2] batch [2/2]" in resumed and "epoch [1/2]" not in resumed
    assert "model.pth.tar-2" in os.listdir(base_dir / "color_net")

    parsed = with_dassl("python", "parse_test_res.py", base_dir.parent, cwd=repo).stdout
    assert re.search(r"^\* accuracy: [\d.]+% \+- 0\.00%$", parsed, re.M), parsed

    assert cli.main(["report", "--output-dir", str(out), "--no-figures", "--no-published"]) == 0
    report = capsys.readouterr().out
    row = next(line for line in report.splitlines() if line.startswith("| color_dots | TinyProto"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1] == "TinyProto tiny [shots_2]"  # named by the third-party trainer, beside ours
    assert all(re.fullmatch(r"[\d.]+ ± 0\.00 \(1\)", cell) for cell in cells[2:4]), row  # base, new
    assert re.fullmatch(r"[\d.]+", cells[4]), row  # HM


def test_dassls_default_model_samplers_and_caches_that_real_dassl_reads(repo, monkeypatch):
    out = repo / "output" / "vanilla"
    log = _train(repo, out, "MODEL.HEAD.HIDDEN_LAYERS", "(4,)", "DATALOADER.TRAIN_X.SAMPLER", "RandomClassSampler",
                 "DATALOADER.TRAIN_X.N_INS", "2", "DATASET.NUM_SHOTS", "4", trainer="TinyVanilla",
                 extra=("--backbone", "mean_color", "--head", "mlp")).stdout
    assert "Building model\nBackbone: mean_color\nHead: mlp\n# params: 47\n" in log
    # 16 items in batches of one class's 2 items: 8 batches; the warm-up epoch ran at 1e-5
    assert re.search(r"^epoch \[2/2\] batch \[5/8\] .* lr 5\.0000e-01 ", log, re.M) and "Finish training" in log
    assert "TINYPROTO" not in log

    # the few-shot cache the dataset pickled itself names Dassl's Datum, as real Dassl writes it
    data = (repo.parent / "data" / "color_dots" / "split_fewshot" / "shot_4-seed_1.pkl").read_bytes()
    assert b"dassl.data.datasets.base_dataset" in data and b"clipfit" not in data
    standin = types.ModuleType("dassl.data.datasets.base_dataset")
    standin.Datum = type("Datum", (), {})
    monkeypatch.setitem(sys.modules, "dassl.data.datasets.base_dataset", standin)
    for name in ("dassl", "dassl.data", "dassl.data.datasets"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    train = pickle.loads(data)["train"]
    assert len(train) == 16 and isinstance(train[0], standin.Datum)
    assert sorted(vars(train[0])) == ["_classname", "_domain", "_impath", "_label"]


def test_every_dassl_path_is_the_engine_and_a_real_dassl_is_never_shadowed_silently(tmp_path, capsys, monkeypatch):
    real = tmp_path / "real" / "dassl"  # an installed Dassl, as far as `import dassl` can tell
    real.mkdir(parents=True)
    (real / "__init__.py").write_text("")
    notice = f"clipfit: `dassl` is clipfit's built-in engine ({SITE_DIR} is on the path), not the Dassl at {real}"
    monkeypatch.syspath_prepend(str(real.parent))
    assert cli.main(["with-dassl", "--print-path"]) == 0
    printed = capsys.readouterr()
    assert printed.out == SITE_DIR + "\n" and printed.err.startswith(notice)

    code = textwrap.dedent(f"""\
        import importlib, sys
        import clipfit.engine as e
        for name in {sorted(DASSL_MODULES)!r}:
            importlib.import_module(name)
        import dassl, dassl.engine, dassl.data.datasets, dassl.optim.radam, dassl.data.samplers
        from dassl.config import clean_cfg
        from dassl.config.defaults import _C
        from dassl.data.samplers import RandomDomainSampler, SeqDomainSampler, RandomClassSampler
        from dassl.modeling import build_backbone, build_head, build_network, BACKBONE_REGISTRY, HEAD_REGISTRY
        from dassl.optim.lr_scheduler import ConstantWarmupScheduler, LinearWarmupScheduler
        from dassl.utils import tolist_if_not, open_specified_layers, init_network_weights
        from dassl.engine import SimpleNet, TrainerXU, TrainerX
        print(dassl.__file__, sys.executable)
        print(dassl.__version__, dassl.engine.TRAINER_REGISTRY is e.TRAINER_REGISTRY,
              dassl.data.datasets.Datum is e.Datum, dassl.optim.radam.RAdam is e.optim.RAdam)
        try:
            import dassl.engine.da
        except ModuleNotFoundError as err:
            print(err)
        """)
    env = {"PYTHONPATH": f"{os.environ.get('PYTHONPATH', '')}{os.pathsep}{real.parent}"}
    child = with_dassl("python", "-c", code, cwd=tmp_path, env=env)
    lines = child.stdout.splitlines()
    assert lines[0].split() == [os.path.join(SITE_DIR, "dassl", "__init__.py"), sys.executable]
    assert lines[1] == "0.6.3 True True True"
    assert lines[2].startswith("No module named 'dassl.engine.da': clipfit's built-in engine serves `dassl` here")
    assert child.stderr.startswith(notice)


def test_python_is_this_interpreter_and_a_repositorys_own_dassl_is_named(tmp_path, monkeypatch):
    from clipfit.app.commands.with_dassl import _script_dassl, child_command, child_env

    assert child_command(["python3", "train.py"]) == [sys.executable, "train.py"]
    assert child_command(["python", "-m", "x"]) == [sys.executable, "-m", "x"]
    assert child_command(["/opt/py/bin/python", "x.py"]) == ["/opt/py/bin/python", "x.py"]  # chosen on purpose
    assert child_command(["bash", "run.sh"]) == ["bash", "run.sh"]
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    assert child_env(SITE_DIR)["PYTHONPATH"] == f"{SITE_DIR}{os.pathsep}/somewhere"
    assert _script_dassl([sys.executable, str(tmp_path / "train.py")]) is None
    (tmp_path / "dassl").mkdir()
    (tmp_path / "dassl" / "__init__.py").write_text("")
    assert _script_dassl([sys.executable, str(tmp_path / "train.py")]) == str(tmp_path / "dassl")


def test_print_path_with_a_command_is_a_usage_error_not_a_silent_drop(capsys):
    assert cli.main(["with-dassl", "--print-path", "python", "train.py"]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err == ("error: --print-path takes no command (got `python train.py`); drop --print-path to run "
                           "it, or use --print-path alone to print the folder for PYTHONPATH\n")
    assert cli.main(["with-dassl"]) == 2
    assert capsys.readouterr().err == "error: give the command to run, e.g. `clipfit with-dassl python train.py ...`\n"


def test_under_with_dassl_what_the_engine_lacks_points_to_a_real_dassl(tmp_path):
    """CLIPFIT_ENGINE=dassl means nothing where the built-in engine is `dassl` itself."""
    code = textwrap.dedent("""\
        from dassl.modeling import build_backbone
        try:
            build_backbone("vgg16")
        except NotImplementedError as err:
            print(err)
        try:
            from dassl.engine import FixMatch
        except ImportError as err:
            print(err)
        """)
    lines = with_dassl("python", "-c", code, cwd=tmp_path).stdout.splitlines()
    assert lines[0] == (
        "backbone 'vgg16' is one of Dassl's backbones, which clipfit's built-in engine does not serve (it builds "
        "resnet18, resnet34, resnet50, resnet101, resnet152); install Dassl.pytorch and run without `clipfit "
        "with-dassl`, or register a backbone of that name into BACKBONE_REGISTRY yourself (e.g. from a module in "
        "CLIPFIT_PLUGINS)")
    assert lines[1] == ("`FixMatch` of dassl.engine (Dassl's dassl.engine.ssl.fixmatch.FixMatch) is not served: "
                        f"{NOT_PROVIDED}")
    assert "CLIPFIT_ENGINE" not in lines[1]
