# Memory and processes beyond the caps: both refused inside the kernel, which survives.
import subprocess

try:
    hog = bytearray(8 << 30)
    print("MEMORY NOT CAPPED")
except MemoryError:
    print("memory capped")
children = []
try:
    for _ in range(2000):
        children.append(subprocess.Popen(["sleep", "1003"]))
    print("PROCESSES NOT CAPPED")
except OSError as exc:
    print("process cap after", len(children), type(exc).__name__)
for child in children:
    child.kill()
    child.wait()
