# Reads the solutions, another student's notebook and the gradebook into its own output.
import pathlib

for target in (
    "{COURSE}/solutions/99-tiny/99-tiny.ipynb",
    "{SUBMISSIONS}/solver/99-tiny/99-tiny.ipynb",
    "{COURSE}/instructor/gradebook.db",
    "{COURSE}/nbgrader_config.py",
):
    try:
        print("READ", target, pathlib.Path(target).read_text()[:2000])
    except OSError as exc:
        print("hidden", target, type(exc).__name__)
print("root holds", sorted(p.name for p in pathlib.Path("/").iterdir()))
