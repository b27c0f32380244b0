# A cell that never ends: interrupted after the cell time limit; the notebook is still graded.
while True:
    pass
