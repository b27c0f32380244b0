# Every cell from here on takes 6 s, each under the cell limit: the notebook time limit stops it.
import time

get_ipython().events.register("post_run_cell", lambda result: time.sleep(6))  # noqa: F821
