"""Where the course folder is, and this interpreter's tools first on PATH: one rule each."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from workshop import cli, course
from workshop.paths import find_course_root, path_with_this_python

ROOT = Path(__file__).resolve().parents[1]


def test_the_course_root_is_found_from_below_and_nowhere_else(tmp_path):
    assert find_course_root(ROOT / "solutions") == ROOT
    assert find_course_root(tmp_path) is None
    assert cli.find_course_root is find_course_root  # the command and the course agree
    assert course.course_root(ROOT / "solutions") == ROOT


def test_this_python_leads_path():
    parts = path_with_this_python("/usr/bin").split(os.pathsep)
    assert parts == [str(Path(sys.executable).parent), "/usr/bin"]
