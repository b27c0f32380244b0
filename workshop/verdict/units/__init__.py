"""One module per unit: ``PREAMBLE`` (the set-up its answer cells expect, run in the runner before
them) and ``CHECKS`` (grade id of each test cell -> ``check(trial)``, run in the judge)."""
