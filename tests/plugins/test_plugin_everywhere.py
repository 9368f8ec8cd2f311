"""A trainer and a dataset from a plugin module (shapes_plugin.py, loaded through CLIPFIT_PLUGINS) show up in
every table with no other edit: `clipfit scripts`, the scripts themselves, `clipfit data check`,
`clipfit report` and `clipfit sweep`. Everything runs in subprocesses, so this test process's registries
never hold the plugin."""
import glob
import os
import shutil
import subprocess
import sys

import pytest

from clipfit.testing.demo import DEMO_DATASET_DIR, DEMO_SPLIT_FILE, make_demo_dataset

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The plugin's scripts are written into the repository, where scripts live, and removed at the end. Each
# pytest-xdist worker builds this module's fixtures itself, so each gets a folder of its own: one worker's
# teardown must not delete the scripts another is running.
FOLDER = f"shapesfit_{os.getpid()}"
SCRIPTS = os.path.join(REPO, "scripts", FOLDER)  # the plugin trainer's SCRIPT_FOLDER


def plugin_env(world, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TRAINER", "CFG", "OPTS", "FORCE", "LAMBDA", "BANNER")}
    path = os.pathsep.join(p for p in (HERE, REPO, env.get("PYTHONPATH")) if p)
    return {**env, "CLIPFIT_PLUGINS": "shapes_plugin", "SHAPESFIT_SCRIPT_FOLDER": FOLDER, "PYTHONPATH": path,
            "PYTHON": sys.executable,
            "DATA": str(world / "data"), "OUTPUT": str(world / "out"), **extra}


def clipfit(world, *args, **env):
    return subprocess.run([sys.executable, "-m", "clipfit", *map(str, args)], cwd=REPO, env=plugin_env(world, **env),
                          capture_output=True, text=True)


def bash(world, script, *args, **env):
    return subprocess.run(["bash", f"scripts/{FOLDER}/{script}", *args], cwd=REPO, env=plugin_env(world, **env),
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The demo shapes in the plugin dataset's layout, and the plugin trainer's scripts in scripts/<FOLDER>/
    (removed afterwards: they are generated for this test only)."""
    root = tmp_path_factory.mktemp("plugin")
    make_demo_dataset(str(root / "data"), num_classes=4, images_per_class=6, size=32)
    os.rename(root / "data" / DEMO_DATASET_DIR, root / "data" / "toy_shapes")
    os.rename(root / "data" / "toy_shapes" / DEMO_SPLIT_FILE, root / "data" / "toy_shapes" / "split_toy_shapes.json")
    shutil.rmtree(SCRIPTS, ignore_errors=True)
    try:
        yield root
    finally:
        shutil.rmtree(SCRIPTS, ignore_errors=True)


@pytest.fixture(scope="module")
def scripts_written(world):
    before = clipfit(world, "scripts", "--check")
    assert before.returncode == 1 and f"scripts/{FOLDER}/base2new_train.sh: missing" in before.stdout
    # the project's own scripts (5 per scripted trainer) are as committed; only the plugin's 5 are missing
    project_scripts = 5 * len(glob.glob(os.path.join(REPO, "scripts", "*", "base2new_train.sh")))
    assert f"5 of {project_scripts + 5} script(s) not as generated" in before.stdout
    wrote = clipfit(world, "scripts", "--trainers", "ShapesFit")
    assert wrote.returncode == 0, wrote.stderr
    return wrote


def test_the_generator_writes_the_plugin_trainers_scripts(world, scripts_written):
    assert sorted(os.listdir(SCRIPTS)) == ["base2new_test.sh", "base2new_train.sh", "few_shot.sh", "xd_test.sh",
                                           "xd_train.sh"]
    with open(os.path.join(SCRIPTS, "base2new_train.sh")) as f:
        text = f.read()
    assert "(env knobs: BANNER and those in clipfit/app/jobs.py)" in text
    assert text.endswith('run_job ShapesFit base2new_train "$@"\n')
    assert clipfit(world, "scripts", "--check").returncode == 0


def test_data_check_lists_the_plugin_dataset(world):
    proc = clipfit(world, "data", "check", "--root", world / "data")
    line = next(line for line in proc.stdout.splitlines() if line.startswith("ToyShapes"))
    assert "toy_shapes/" in line and "ready" in line and "24" in line


@pytest.fixture(scope="module")
def runs(world, scripts_written):
    """base-to-new with the plugin trainer's own recipe (its config file beside the plugin, its knob BANNER)."""
    train = bash(world, "base2new_train.sh", "toy_shapes", "1", BANNER="hello")
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    test = bash(world, "base2new_test.sh", "toy_shapes", "1", BANNER="hello")
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    return train, test


def test_the_plugin_scripts_run_end_to_end(world, runs):
    train, test = runs
    assert "--dataset-config-file tests/plugins/toy_shapes.yaml" in train.stdout
    assert "--config-file tests/plugins/configs/ShapesFit/tiny.yaml" in train.stdout
    train_dir = world / "out" / "base2new" / "train_base" / "toy_shapes" / "shots_16" / "ShapesFit" / "tiny" / "seed1"
    log = (train_dir / "log.txt").read_text()
    assert "ShapesFit banner: hello" in log  # the plugin's own config node, set by its recipe from the knob
    assert "* accuracy:" in log and (train_dir / "prompt_learner" / "model.pth.tar-1").is_file()
    assert f"--model-dir {train_dir} --load-epoch 1 --eval-only" in test.stdout


def test_the_report_shows_the_plugin_runs(world, runs):
    proc = clipfit(world, "report", "--output-dir", world / "out", "--no-published", "--no-figures")
    assert proc.returncode == 0, proc.stderr
    # The dataset appears under the display name its class declares.
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| Toy Shapes") and "ShapesFit" in line)
    assert "| ShapesFit tiny (TRAINER.SHAPESFIT.BANNER hello) |" in row  # its knob, not the recipe's default


def test_the_sweep_plans_the_plugin_trainer_and_dataset(world, runs):
    proc = clipfit(world, "sweep", "--trainers", "ShapesFit", "CLIPFit", "--protocols", "base2new", "xd",
                   "--datasets", "toy_shapes", "--seeds", "1", "--dry-run", BANNER="planned")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # the script runs above, with BANNER=hello: finished with other settings than the sweep's
    assert lines[0] == ("clipfit sweep: 8 job(s): 6 to run, 0 finished (skipped), 2 finished with other settings "
                        "(they stop, naming them)")
    jobs = [line.split(" -> ")[0].split(None, 2)[2] for line in lines if line.startswith("#")]
    assert jobs == [
        "ShapesFit toy_shapes seed 1: train on base classes", "ShapesFit toy_shapes seed 1: test on new classes",
        "CLIPFit toy_shapes seed 1: train on base classes", "CLIPFit toy_shapes seed 1: test on new classes",
        "ShapesFit imagenet seed 1: train on ImageNet (16 shots)",
        "ShapesFit toy_shapes seed 1: evaluate the ImageNet model",
        "CLIPFit imagenet seed 1: train on ImageNet (16 shots)",
        "CLIPFit toy_shapes seed 1: evaluate the ImageNet model",
    ]
    assert lines[2].startswith("#1 stop ") and "TRAINER.SHAPESFIT.BANNER: hello then, planned now" in lines[2]
    assert "/base2new/train_base/toy_shapes/shots_16/ShapesFit/tiny/seed1" in lines[2]
    same = clipfit(world, "sweep", "--trainers", "ShapesFit", "--protocols", "base2new", "--datasets", "toy_shapes",
                   "--seeds", "1", "--dry-run", BANNER="hello")
    assert same.stdout.splitlines()[0] == "clipfit sweep: 2 job(s): 0 to run, 2 finished (skipped)"


# clipfit/app/plugins.py also checks that `import trainers` found this project's folder, not another one.
def test_a_trainers_folder_in_the_current_directory_is_a_user_error_naming_it(tmp_path):
    (tmp_path / "trainers").mkdir()
    (tmp_path / "trainers" / "__init__.py").write_text("")
    env = {**os.environ, "PYTHONPATH": REPO}
    env.pop("CLIPFIT_PLUGINS", None)
    proc = subprocess.run([sys.executable, "-m", "clipfit", "scripts", "--check"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == (
        f"error: `import trainers` resolved to {tmp_path / 'trainers'}, not to this project's trainers/ folder "
        f"({os.path.join(REPO, 'trainers')}). The current directory ({tmp_path}) has its own trainers/ folder, "
        "which Python imports first there; run the installed `clipfit` command instead of `python -m clipfit`, "
        "or run from another folder.\n")


def test_an_installed_package_named_trainers_keeps_the_uninstall_advice(tmp_path, monkeypatch):
    import types

    from clipfit.app.plugins import ShadowedPackage, import_project_package
    from clipfit.errors import UserInputError

    site = tmp_path / "site-packages" / "trainers"
    site.mkdir(parents=True)
    foreign = types.ModuleType("trainers")
    foreign.__file__ = str(site / "__init__.py")
    monkeypatch.setitem(sys.modules, "trainers", foreign)
    with pytest.raises(ShadowedPackage) as caught:
        import_project_package("trainers")
    assert isinstance(caught.value, UserInputError) and isinstance(caught.value, ImportError)
    assert str(caught.value).endswith(f"({os.path.join(REPO, 'trainers')}). Another installed package named "
                                      "`trainers` shadows it; uninstall the other package.")
