# A cell that never ends and ignores interrupts: the notebook time limit stops its kernel.
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
