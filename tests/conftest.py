"""pytest fixtures shared by the tlsdrill suites.

The build directory comes from TD_BUILD_DIR (tools/test.sh sets it); by
default the `default` preset's build/default under the repository root."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Tables size themselves to $COLUMNS (tools/cli/util.c): the suites read the
# natural layout a pipe gets, and set COLUMNS where they test the fitting.
os.environ.pop("COLUMNS", None)


def _build_dir(var, preset):
    return pathlib.Path(os.environ.get(var, ROOT / "build" / preset))


@pytest.fixture(scope="session")
def tlsdrill():
    """Path of the tlsdrill CLI of the default build."""
    path = _build_dir("TD_BUILD_DIR", "default") / "tlsdrill"
    if not path.exists():
        pytest.fail("tlsdrill not built at %s: run tools/test.sh (or cmake --build --preset default)" % path)
    return path


@pytest.fixture(scope="session")
def vectors_dir():
    return ROOT / "tests" / "vectors"


def run(cmd, **kw):
    """Runs a command with a timeout; returns CompletedProcess with text output."""
    kw.setdefault("timeout", 120)
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
