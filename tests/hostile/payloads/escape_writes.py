# Writes everywhere a kernel might reach: up from its folder, its HOME, /tmp, and by absolute path
# into the course and beside the submissions. Only its private folder and /tmp may take them.
import os
import pathlib

for target in (
    "../../escaped.txt",
    "../escaped.txt",
    "~/escaped.txt",
    "/tmp/escaped.txt",
    "{COURSE}/escaped.txt",
    "{COURSE}/instructor/escaped.txt",
    "{SUBMISSIONS}/escaped.txt",
    "{OUTSIDE}",
):
    path = pathlib.Path(os.path.expanduser(target))
    try:
        path.write_text("escaped")
        print("wrote", path)
    except OSError as exc:
        print("refused", path, type(exc).__name__)
