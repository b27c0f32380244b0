# The kernel kills itself with SIGKILL: reported as not graded (kernel died).
import os
import signal

os.kill(os.getpid(), signal.SIGKILL)
