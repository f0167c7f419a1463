"""Running observation statistics (mean and diagonal variance), merged batch by batch."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class RunningStats:
    """Count, mean `[obs_size]` and sum of squared deviations `[obs_size]` (float32)."""

    count: jax.Array
    mean: jax.Array
    m2: jax.Array

    @classmethod
    def zeros(cls, size: int) -> "RunningStats":
        return cls(jnp.zeros(()), jnp.zeros((size,)), jnp.zeros((size,)))

    def merge_moments(self, count: jax.Array, total: jax.Array, total_sq: jax.Array) -> "RunningStats":
        """Adds a batch given by its count, sum and sum of squares (Chan et al.'s parallel update)."""
        batch_mean = total / jnp.maximum(count, 1.0)
        batch_m2 = jnp.maximum(total_sq - count * batch_mean**2, 0.0)
        new_count = self.count + count
        delta = batch_mean - self.mean
        weight = count / jnp.maximum(new_count, 1.0)
        return RunningStats(
            count=new_count,
            mean=self.mean + delta * weight,
            m2=self.m2 + batch_m2 + delta**2 * self.count * weight,
        )

    def merge(self, batch: jax.Array) -> "RunningStats":
        """Adds observations `[..., obs_size]`."""
        flat = batch.reshape(-1, batch.shape[-1])
        return self.merge_moments(
            jnp.asarray(flat.shape[0], jnp.float32), flat.sum(0), (flat**2).sum(0)
        )

    @property
    def std(self) -> jax.Array:
        """Standard deviation; 1 before any observation was seen."""
        return jnp.where(self.count > 0, jnp.sqrt(self.m2 / jnp.maximum(self.count, 1.0)), 1.0)

    def normalize(self, obs: jax.Array) -> jax.Array:
        """(obs - mean) / std, with std floored so constant features map to 0, clipped to [-10, 10]."""
        return jnp.clip((obs - self.mean) / jnp.maximum(self.std, 1e-6), -10.0, 10.0)
