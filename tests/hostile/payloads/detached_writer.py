# A detached process that keeps writing after the notebook ends (own session, double fork).
import os
import subprocess

subprocess.Popen(
    ["sh", "-c", "while true; do echo tick >> $HOME/ticks-hostile-writer; sleep 0.2; done"],
    start_new_session=True,
)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "1002"])
    os._exit(0)
os.wait()
