"""nbgrader configuration of the workshop course (read by `nbgrader ...` run from this folder).

Each unit is one nbgrader assignment: ``solutions/<unit>/<notebook>.ipynb`` (instructor version,
nbgrader's source) generates ``exercises/<unit>/<notebook>.ipynb`` (what learners open, committed).
Everything else nbgrader writes (submissions, autograded copies, feedback, the gradebook) lives
under ``instructor/``, which git ignores. ``workshop release`` and ``workshop grade`` drive this
configuration through ``workshop.course``.
"""

import os

c = get_config()  # noqa: F821  (injected by traitlets when it loads this file)

_here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(_here, "instructor"), exist_ok=True)  # sqlite creates files, not folders

c.CourseDirectory.course_id = "hpc-python"
c.CourseDirectory.root = _here
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = os.path.join("instructor", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("instructor", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("instructor", "feedback")
c.CourseDirectory.solution_directory = os.path.join("instructor", "solution")
c.CourseDirectory.source_with_tests_directory = os.path.join("instructor", "source_with_tests")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_here, "instructor", "gradebook.db")


# Autograding runs each notebook in a sandboxed kernel (workshop/sandbox.py, bubblewrap), with a
# per-cell time limit and capped output (workshop/autograde.py); `workshop grade` sets the limits
# and refuses to grade where no sandbox can be made unless told --unsafe-no-sandbox.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "workshop.autograde.DeduplicateGradeIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# The notebook runs in a sandboxed kernel (GradingExecute); then test cells score only with the
# verdict of a judge that runs outside that kernel, on the answer cells' source and inputs drawn
# from the grading seed (workshop/verdict): answer cells run in the same kernel as the tests, so
# nothing shown there can be trusted on its own.
c.Autograde.autograde_preprocessors = [
    "workshop.autograde.GradingExecute",
    "workshop.verdict.gate.VerdictGate",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# nbclient waits `timeout` for the kernel_info handshake before the first cell; cells get
# GradingExecute.cell_seconds.
c.Execute.timeout = 60
c.Execute.startup_timeout = 60

# Feedback goes to students: hidden tests (their code and any output quoting it) are removed.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "workshop.autograde.HideHiddenTestOutputs",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.ClearHiddenTests.enforce_metadata = False

# LMS downloads (`workshop grade downloads.zip`): Blackboard-style names, as in nbgrader's docs,
#   <unit>_<student>_attempt_<timestamp>_<notebook>.ipynb
# e.g. 00-welcome_ada_attempt_20250130T153010_00-welcome.ipynb. The timestamp is kept only when
# written as YYYYMMDDTHHMMSS: Blackboard's own 2025-01-30-15-30-10 is accepted but not kept, because
# dateutil misreads its tail as a time-zone offset. The pattern sees the absolute path of each
# extracted file; adapt it to your LMS (it must capture student_id and file_id).
c.ZipCollectApp.downloaded_directory = os.path.join("instructor", "downloaded")
c.ZipCollectApp.strict = True
c.FileNameCollectorPlugin.named_regexp = (
    r".*?(?:^|[\\/])[^\\/]*?_(?P<student_id>\w+)_attempt_"
    r"(?:(?P<timestamp>\d{8}T\d{6})|[0-9\-]+)_(?P<file_id>[^\\/]+)$"
)
