"""evosax's evolution strategies as rlab algorithms: `evosax/<Name>` (CMA-ES, SNES, PGPE, ...).

evosax (Lange 2022) implements the ES family behind one `ask`/`tell` API
made for `jit` and `vmap`. Each strategy here searches the flat weights `[P]`
of the same policy network rlab's other search methods use
(`population.FlatPolicy`), starting from the network's initialisation; a
member is scored by the mean return of `episodes_per_member` whole episodes,
every member of an iteration on the same start states (common random
numbers), and evosax is told the negated scores (it minimises). The policy
is the strategy's mean. The budget is the lab's rule for population
methods: population x episodes per member x episode length env steps per
iteration.

Float hyperparameters are lanes of one program like every trainer's:
`std_init` (the search's initial scale; evosax's default of 1 is far too
wide for network weights; Open-ES keeps it fixed, as its constant schedule
does), `output_scale` and, for the strategies that step
with an optimiser (Open-ES, PGPE, SNES), the Adam `learning_rate`.

On a plateau (every member scores the same) these strategies still move:
rank weights of tied fitnesses are not all zero, and step sizes adapt, so
no zero law is declared for them.

evosax is optional (`pip install 'rlab[evosax]'`); the ids are registered
only where it imports.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from envs.params import Param
from rlab.trainers import rollout
from rlab.trainers.base import Algorithm, Plateau, Program, split_key
from rlab.trainers.population import FlatPolicy, evaluate_population, population_metrics

PREFIX = "evosax/"
# The strategies registered, each checked by the contract tests. Those that step with an optax optimiser
# get a `learning_rate` lane.
# LM-MA-ES is left out: its path constants c_c = population / (4^k n) exceed 2 when the population is more
# than twice the n policy weights, as on small networks, and its state turns NaN there.
STRATEGIES = ("CMA_ES", "SNES", "PGPE", "Sep_CMA_ES", "Open_ES", "xNES", "MA_ES")
WITH_OPTIMISER = ("SNES", "PGPE", "Open_ES", "xNES")

COMMON = (
    Param("population", int, 32, "members per iteration", low=2),
    Param("episodes_per_member", int, 1, "episodes that score one member", low=1),
    Param("std_init", float, 0.05, "initial search scale sigma (evosax's std_init)", low=0.0, low_open=True),
    Param("output_scale", float, 0.01, "scale of the policy's initial output weights", low=0.0),
)
LEARNING_RATE = Param("learning_rate", float, 0.01, "Adam step size of the strategy's optimiser", low=0.0,
                      low_open=True)
SMALL = dict(population=8)


def available() -> bool:
    try:
        import evosax  # noqa: F401
    except ImportError:
        return False
    return True


@struct.dataclass
class EvosaxState:
    search: object  # the strategy's own state (mean, scale, covariance or its factors, optimiser state...)
    keys: dict
    hparams: dict
    env_steps: jax.Array

    @property
    def theta(self) -> jax.Array:
        """The policy's flat weights `[P]`: the search distribution's mean."""
        return self.search.mean


def _strongly_typed(tree):
    """`tree` with every leaf a strongly typed array (evosax starts some from Python numbers).

    A state whose leaves change from weakly to strongly typed after one
    iteration would make the next trainer step compile again.
    """
    return jax.tree.map(lambda x: jnp.array(x, dtype=jnp.asarray(x).dtype), tree)


def steps_per_iteration(env, static: dict) -> tuple[int, str]:
    """Env steps of one iteration: every member scored by whole episodes."""
    steps = static["population"] * static["episodes_per_member"] * rollout.episode_length_of(env, static["episode_length"])
    return steps, "population * episodes_per_member * episode length"


def _strategy(name: str, population: int, size: int):
    """evosax's strategy `name` over flat vectors of `size` weights (an optimiser whose rate is a lane)."""
    from evosax import algorithms

    cls = getattr(algorithms, name)
    options = {}
    if name in WITH_OPTIMISER:
        options["optimizer"] = optax.inject_hyperparams(optax.adam)(learning_rate=LEARNING_RATE.default)
    return cls(population_size=population, solution=jnp.zeros(size), **options)


def _with_learning_rate(search, learning_rate):
    """The strategy's state with its optimiser's learning rate set to this lane's value."""
    opt_state = search.opt_state
    hyperparams = {**opt_state.hyperparams, "learning_rate": jnp.asarray(learning_rate, jnp.float32)}
    return search.replace(opt_state=opt_state._replace(hyperparams=hyperparams))


def builder(name: str):
    def build(env, static: dict):
        flat_policy = FlatPolicy(env, static["width"], static["depth"])
        episode_length = rollout.episode_length_of(env, static["episode_length"])
        strategy = _strategy(name, static["population"], flat_policy.size)
        iteration_steps, _ = steps_per_iteration(env, static)

        # Read once here, outside any trace: some strategies compute Python integers from them.
        defaults = strategy.default_params
        # Open-ES keeps its scale in its state, set by a schedule; the lane's value is put there instead.
        scale_in_state = not hasattr(defaults, "std_init")

        def params_of(hp):
            return defaults if scale_in_state else defaults.replace(std_init=hp["std_init"])

        def with_scale(search, hp):
            return search.replace(std=jnp.asarray(hp["std_init"], jnp.float32)) if scale_in_state else search

        def init_fn(streams, hp):
            keys, init_key = split_key(dict(streams), "explore")
            theta = flat_policy.sample_initial(streams["init"], hp["output_scale"])
            search = with_scale(strategy.init(init_key, theta, params_of(hp)), hp)
            if name in WITH_OPTIMISER:
                search = _with_learning_rate(search, hp["learning_rate"])
            return EvosaxState(_strongly_typed(search), keys, hp, jnp.zeros((), jnp.int32))

        def iteration(state: EvosaxState, _):
            params = params_of(state.hparams)
            keys, ask_key = split_key(state.keys, "explore")
            keys, tell_key = split_key(keys, "explore")
            keys, episode_key = split_key(keys, "env")
            thetas, search = strategy.ask(ask_key, state.search, params)
            same_starts = jnp.broadcast_to(episode_key, (static["population"], *episode_key.shape))
            stats = evaluate_population(env, flat_policy, thetas, same_starts, static["episodes_per_member"],
                                        episode_length)
            fitness = stats.episode_return.mean(axis=1)
            search, _ = strategy.tell(tell_key, thetas, -fitness, search, params)  # evosax minimises
            search = _strongly_typed(with_scale(search, state.hparams))
            diagnostics = population_metrics(stats)
            diagnostics["update_norm"] = jnp.linalg.norm(search.mean - state.search.mean)
            diagnostics["no_reward_batch"] = 1.0 - jnp.max(stats.rewarded)
            return state.replace(search=search, keys=keys, env_steps=state.env_steps + iteration_steps), diagnostics

        return Program(init_fn, iteration, lambda state: state.theta, flat_policy.action)

    return build


def algorithm(name: str) -> Algorithm:
    """The record of `evosax/<name>`."""
    params = COMMON + ((LEARNING_RATE,) if name in WITH_OPTIMISER else ())
    antithetic = name == "Open_ES"  # evosax's Open-ES samples antithetic pairs by default
    return Algorithm(
        name=PREFIX + name, description=f"evosax's {name.replace('_', '-')} on the flat policy weights",
        params=params, steps_per_iteration=steps_per_iteration, build=builder(name), batch_param="population",
        plateau=Plateau("antithetic_pairs" if antithetic else "policy_draws",
                        (lambda static: static["population"] // 2) if antithetic else (lambda static: static["population"]),
                        lambda static, floats: False),
        small=SMALL,
    )
