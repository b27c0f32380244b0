# 64 MiB printed by one cell (the reproducer printed 200 MB): the grader keeps a capped part and
# says so; the notebook is still graded.
line = "x" * (1 << 20)
for _ in range(64):
    print(line)
