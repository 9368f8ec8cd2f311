import pytest

from clipfit.app.cli import main as cli_main
from clipfit.testing.demo import make_demo_dataset


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep_data")
    make_demo_dataset(str(root), num_classes=4, images_per_class=6, size=32)
    return str(root)


@pytest.fixture
def sweep(capsys):
    """Run `clipfit sweep ARGS`; returns (exit code, stdout, stderr)."""

    def run(*args):
        code = cli_main(["sweep", "--no-progress-bar", *map(str, args)])
        out, err = capsys.readouterr()
        return code, out, err

    return run
