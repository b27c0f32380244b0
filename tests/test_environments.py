"""The conda and Binder routes: same pins as pyproject.toml, and a Binder build that would work.

Without a container engine the Binder image cannot be built here; repo2docker's dry run
(``--no-build``) still picks the build pack and renders the Dockerfile it would build, which shows
that it reads ``binder/`` (environment, postBuild, start). ``binder/start`` itself runs here under
a one-CPU affinity, as Binder gives one CPU.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from workshop.workspace import FIRST_NOTEBOOK as FIRST_UNIT

yaml = pytest.importorskip("yaml", reason="PyYAML reads environment.yml (pip install pyyaml)")

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
# pip name -> conda-forge name, where they differ (matplotlib-base: no Qt in a Binder image).
CONDA_NAMES = {"matplotlib": "matplotlib-base"}
# What environment.yml adds to pyproject's dependencies.
CONDA_EXTRAS = {"python", "c-compiler", "pip"}
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "LOKY_MAX_CPU_COUNT")


def _environment(path: Path) -> tuple[dict[str, SpecifierSet], list[str]]:
    """The conda packages (name -> version range) and the pip lines of an environment file."""
    env = yaml.safe_load(path.read_text())
    assert env.get("channels", [])[:1] == ["conda-forge"], "conda-forge must be the first channel"
    conda: dict[str, SpecifierSet] = {}
    pip: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep.get("pip", [])
            continue
        name, _, spec = dep.partition(" ")
        if "=" in name and not spec:  # conda's "python=3.12" spelling
            name, _, version = name.partition("=")
            spec = f"=={version}.*"
        conda[name] = SpecifierSet(spec.replace(" ", ""))
    return conda, pip


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_has_the_pyproject_pins():
    conda, _ = _environment(ROOT / "environment.yml")
    wanted: dict[str, SpecifierSet] = {}
    for line in _pyproject()["project"]["dependencies"]:
        requirement = Requirement(line)
        name = CONDA_NAMES.get(canonicalize_name(requirement.name), requirement.name)
        wanted[name] = requirement.specifier
    listed = {canonicalize_name(name): spec for name, spec in conda.items()}
    for name, spec in wanted.items():
        key = canonicalize_name(name)
        assert key in listed, f"environment.yml lacks {name} {spec} (a pyproject dependency)"
        assert listed[key] == spec, f"environment.yml pins {name} {listed[key]}, pyproject {spec}"
    extra = set(listed) - {canonicalize_name(n) for n in wanted} - CONDA_EXTRAS
    assert not extra, f"environment.yml has packages that pyproject.toml lacks: {sorted(extra)}"
    assert set(listed) >= CONDA_EXTRAS, "environment.yml needs python, c-compiler and pip"


def test_environment_python_is_one_the_package_supports():
    conda, _ = _environment(ROOT / "environment.yml")
    supported = SpecifierSet(_pyproject()["project"]["requires-python"])
    pinned = re.search(r"\d+(\.\d+)*", str(conda["python"]))
    assert pinned and Version(pinned.group()) in supported


def test_environment_installs_the_package_itself():
    """conda runs the pip section from the environment file's folder: the root's pip file
    installs the package (compiling the Cython kernels), binder/'s installs nothing, since
    binder/postBuild does it once the whole repository is in the image."""
    _, pip = _environment(ROOT / "environment.yml")
    assert pip == ["-r environment-pip.txt"]

    def requirements(path: Path) -> list[str]:
        lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
        return [line for line in lines if line]

    assert requirements(ROOT / "environment-pip.txt") == ["-e ."]
    assert requirements(BINDER / "environment-pip.txt") == []


def test_binder_environment_is_a_copy():
    assert (BINDER / "environment.yml").read_bytes() == (ROOT / "environment.yml").read_bytes(), (
        "binder/environment.yml must be a byte-identical copy of environment.yml "
        "(Binder reads only binder/ once it exists): cp environment.yml binder/"
    )


def test_binder_scripts_are_executable_shell():
    for name in ("postBuild", "start"):
        script = BINDER / name
        assert os.access(script, os.X_OK), f"binder/{name} must be executable (chmod +x)"
        assert script.read_text().startswith("#!/bin/bash\n")
        subprocess.run(["bash", "-n", str(script)], check=True)
    post_build = (BINDER / "postBuild").read_text()
    assert "set -euo pipefail" in post_build
    assert "python -m pip install --no-deps --no-build-isolation -e ." in post_build
    assert (BINDER / "start").read_text().rstrip().endswith('exec "$@"')


def _run_start(path: str, cpu: int, workspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSHOP_")}
    env = {k: v for k, v in env.items() if k not in THREAD_VARIABLES}
    env["PATH"] = path
    env["WORKSHOP_WORKSPACE"] = str(workspace)
    result = subprocess.run(
        [str(BINDER / "start"), "env"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_binder_start_under_one_cpu(tmp_path):
    cpu = min(os.sched_getaffinity(0))
    # With the workshop importable, as in the Binder image.
    workspace = tmp_path / "my-work"
    exported = _run_start(
        os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]), cpu, workspace
    )
    for name in THREAD_VARIABLES:
        assert exported[name] == "1", f"{name}={exported.get(name)!r} under a one-CPU affinity"
    assert exported["WORKSHOP_SMALL"] == "1"
    # Binder's link opens the learner's copy, which start makes from exercises/.
    assert (workspace / FIRST_UNIT.split("/", 1)[1]).is_file()
    # Without it (a broken image): falls back to nproc, which also honours the affinity.
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "python").write_text("#!/bin/sh\nexit 1\n")
    (broken / "python").chmod(0o755)
    exported = _run_start(os.pathsep.join([str(broken), "/usr/bin", "/bin"]), cpu, workspace)
    assert [exported[name] for name in THREAD_VARIABLES] == ["1", "1", "1"]


def test_repo2docker_renders_a_binder_build():
    """repo2docker's dry run: no container engine needed, nothing fetched, nothing written."""
    pytest.importorskip("repo2docker", reason="pip install jupyter-repo2docker (test extra)")
    result = subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-build", "--no-run", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    dockerfile = result.stdout
    assert "Building conda environment for python=3.12" in result.stderr
    assert '--file "binder/environment.yml"' in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile
    # The environment is installed after the repository is copied in (its pip section reads a
    # file of the repository), and postBuild after that.
    copy = dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    assert copy < dockerfile.index("binder/environment.yml") < dockerfile.index("binder/postBuild")


def test_readme_badge_opens_the_first_unit_in_jupyterlab():
    readme = (ROOT / "README.md").read_text()
    badge = re.search(r"\(https://mybinder\.org/badge_logo\.svg\)\]\((?P<url>[^)]+)\)", readme)
    assert badge, "README.md needs a Binder badge"
    url = badge["url"]
    assert re.fullmatch(r"https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/[\w.-]+\?\S+", url), url
    assert url.endswith(f"?urlpath=lab/tree/{FIRST_UNIT}") or url.endswith(f"?labpath={FIRST_UNIT}")
    assert "conda env create -f environment.yml" in readme
    assert "repo2docker" in readme


def test_make_names_the_supported_pythons_like_pyproject():
    """tools/check-python (run by `make` before it builds .venv) and requires-python agree."""
    supported = SpecifierSet(_pyproject()["project"]["requires-python"])
    source = (ROOT / "tools" / "check-python").read_text()
    low, high = (tuple(map(int, pair)) for pair in re.findall(r"\((\d+), (\d+)\)", source)[:2])
    for minor in range(8, 16):
        in_make = low <= (3, minor) <= high
        assert in_make == (Version(f"3.{minor}") in supported), f"3.{minor}"
    classifiers = _pyproject()["project"]["classifiers"]
    for minor in range(low[1], high[1] + 1):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    ok = subprocess.run([sys.executable, str(ROOT / "tools" / "check-python")], check=False)
    assert ok.returncode == 0
