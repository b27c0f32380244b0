# Tried: 50 `sleep` children (plain, own session, and double-forked); 30 survived the grading run
# as orphans. Expected: every process a grading kernel starts ends with it.
import os
import subprocess

children = [subprocess.Popen(["sleep", "1001"]) for _ in range(10)]
children += [subprocess.Popen(["sleep", "1001"], start_new_session=True) for _ in range(10)]
for _ in range(10):
    if os.fork() == 0:
        if os.fork() == 0:
            os.setsid()
            os.execvp("sleep", ["sleep", "1001"])
        os._exit(0)
    os.wait()
