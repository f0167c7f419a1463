"""rlab: measure how reinforcement learning behaves across random seeds and on sparse rewards."""

__version__ = "0.1.0"


def __getattr__(name):
    # `rlab.train` without importing JAX for `rlab --help`.
    if name == "train":
        from rlab.run.training import train

        return train
    raise AttributeError(f"module 'rlab' has no attribute {name!r}")
