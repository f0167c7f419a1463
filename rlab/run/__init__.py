"""Execution: the lane runner and everything that decides how lanes meet devices.

Modules: `lanes` (one trainer over many seeds in W-wide programs), `widths`
(W by rule, halved to fit memory, or measured; the chunk size that fits),
`devices` (one CPU device per core), `executables` (one compile shared by
every device), `xla` (the compiler options every program gets), `training`
(`rlab.train`: many seeds in memory) and `sweep` (a spec's plan into a store).
"""
