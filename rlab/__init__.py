"""rlab: measure how reinforcement learning behaves across random seeds and on sparse rewards."""

__version__ = "0.1.0"
