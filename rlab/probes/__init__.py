"""Landscape probes: measure the Swiss cheese, estimator by estimator, against closed forms.

With reward only inside small holes, what an estimator sees is governed by p,
the chance that one episode is rewarded. The probes put measurement beside
prediction:

* `zero_law`: how often each algorithm's first update is exactly zero, over
  hole size x dimension x batch size, against the law its estimator obeys
  ((1 - p)^N for REINFORCE without a baseline, ...);
* `gradients`: cosine with the exact gradient and signal-to-noise ratio of
  REINFORCE's estimates (each baseline) and of OpenAI-ES's direction against
  the exact gradient of the Gaussian-smoothed objective, on `cheese_bandit`;
* `budget`: time to the first rewarded batch (survival against the geometric
  law) and success of random search, ES and policy gradient at one env-step
  budget (random search against 1 - (1 - p)^S);
* `surface`: the objective along lines and planes through a policy's
  parameters, with and without ES's Gaussian smoothing.

`rlab.probes.run` runs them into a probe directory (`rlab probe`); the
report draws them (`rlab report DIR`).
"""
