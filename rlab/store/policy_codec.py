"""How a trainer's policies are stored: named arrays with a leading lane axis, and back.

A sweep stores every lane's final policy (`Trainer.policy_params`, a pytree)
in DIR/params/<chunk>.npz: one array per leaf, named `policy` + the leaf's
key path, plus `seed` and `hp_index` per lane. The tree's structure is not
stored: the reader rebuilds it from the trainer (`policy_template`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

PREFIX = "policy"


def policy_arrays(trainer, state, lanes) -> dict[str, np.ndarray]:
    """Every lane's policy as named arrays `[L, ...]`, plus `seed` and `hp_index` `[L]`.

    Args:
      state: trainer states batched over L lanes.
      lanes: the L (seed, float-combination index) pairs, in the state's order.
    """
    arrays = {"seed": np.array([seed for seed, _ in lanes]), "hp_index": np.array([f for _, f in lanes])}
    params = jax.vmap(trainer.policy_params)(state)
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        arrays[PREFIX + jax.tree_util.keystr(path)] = np.asarray(leaf)
    return arrays


def policy_template(trainer):
    """The shapes and dtypes of one seed's `Trainer.policy_params` (nothing is computed)."""
    return jax.eval_shape(lambda key: trainer.policy_params(trainer.init(key)), jax.random.PRNGKey(0))


def restore_policy_params(template, arrays: dict[str, np.ndarray], lane: int):
    """Lane `lane` of `policy_arrays` output, as a pytree shaped like `template` (see `policy_template`)."""
    return jax.tree_util.tree_map_with_path(
        lambda path, leaf: jnp.asarray(arrays[PREFIX + jax.tree_util.keystr(path)][lane], leaf.dtype),
        template,
    )
