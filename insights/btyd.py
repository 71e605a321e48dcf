"""The "buy 'til you die" models behind the predictive CLV (docs/kpis.md, panel 5), in plain numpy
and scipy, with no Django in sight:

- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive, a
  customer buys at a Poisson rate λ ~ Gamma(r, α); after each repeat purchase they drop out for
  good with probability p ~ Beta(a, b).
- Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013, "The Gamma-Gamma
  model of monetary value"): each purchase's value is Gamma(p, ν) with ν ~ Gamma(q, γ), so a
  customer's mean spend is independent of how often they buy.

A customer is summarised by x (repeat purchases), t_x (time of the last purchase after the first)
and T (time from the first purchase to the end of the calibration period), in any one unit of
time (the app uses weeks), and for Gamma-Gamma by m̄, the mean value of the x repeat purchases.
Both models are fitted by maximum likelihood: the closed-form log-likelihood of the papers,
maximised over the logarithms of the parameters with scipy.optimize.minimize."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

LOG_BOUND = 18.0  # parameters between e^-18 and e^18; a fit that ends on a bound has not converged
# The quantities the predictions rest on (BG/NBD: the mean purchase rate r/α and the expected
# purchases of a new customer over the mean observation time, E[X(mean T)]; Gamma-Gamma: the mean
# spend pγ/(q−1)) must be pinned down by the data: the standard error of their logarithm at most
# this (known to within a factor of e or better). The single parameters need not be: when hardly
# anyone is seen to drop out, a and b drift together along a flat ridge that leaves the
# predictions as they are.
MAX_LOG_STANDARD_ERROR = 1.0


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float

    def as_array(self) -> np.ndarray:
        return np.array([self.r, self.alpha, self.a, self.b])


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float  # γ, the scale of ν

    @property
    def population_mean(self) -> float | None:
        """E[value of a purchase] over the population: pγ/(q − 1), finite only when q > 1."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else None


@dataclass(frozen=True)
class Fit:
    """The outcome of a maximum-likelihood fit: parameters, the log-likelihood at them (summed
    over the customers), and whether the optimiser converged to finite, interior parameters."""

    params: BgNbd | GammaGamma | None
    log_likelihood: float
    converged: bool
    message: str
    iterations: int
    key_standard_errors: tuple[float, ...] | None = None  # of the logarithms of the key quantities


# --- BG/NBD ---------------------------------------------------------------------------------

def bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """The log-likelihood of each customer (FHL 2005, equation 6):

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
      + [x > 0] · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))"""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = np.where(x > 0, betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
                           -np.inf)
    return common + np.logaddexp(alive, dropped)


def bgnbd_log_likelihood_gradient(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """d log L / d(r, α, a, b) for each customer (one row each), from equation 6: with
    A = B(a, b+x)/(α+T)^(r+x), D = [x > 0] B(a+1, b+x−1)/(α+t_x)^(r+x) and w = D/(A+D) the share
    of the "dropped out after the last purchase" term."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    alive = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = np.where(x > 0, betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
                           -np.inf)
    w = np.exp(dropped - np.logaddexp(alive, dropped))
    d_r = (digamma(r + x) - digamma(r) + np.log(alpha)
           - (1 - w) * np.log(alpha + T) - w * np.log(alpha + t_x))
    d_alpha = r / alpha - (r + x) * ((1 - w) / (alpha + T) + w / (alpha + t_x))
    d_a = (-(digamma(a) - digamma(a + b)) + (1 - w) * (digamma(a) - digamma(a + b + x))
           + w * (digamma(a + 1) - digamma(a + b + x)))
    b_dropped = np.where(x > 0, digamma(np.maximum(b + x - 1, 1e-300)), 0.0)
    d_b = (-(digamma(b) - digamma(a + b)) + (1 - w) * (digamma(b + x) - digamma(a + b + x))
           + w * (b_dropped - digamma(a + b + x)))
    return np.column_stack([d_r, d_alpha, d_a, d_b])


def _minimise(objective, start: np.ndarray, gradient=None) -> tuple[np.ndarray, object]:
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    result = minimize(objective, start, jac=gradient, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8})
    if not result.success:
        result = minimize(objective, result.x, method="Nelder-Mead", bounds=bounds,
                          options={"maxiter": 8000, "xatol": 1e-8, "fatol": 1e-12})
    return result.x, result


def _hessian(function, at: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """The Hessian of `function` at `at`, by central differences."""
    k = at.size
    hessian = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            total = 0.0
            for di, dj, sign in ((step, step, 1), (step, -step, -1), (-step, step, -1), (-step, -step, 1)):
                point = at.copy()
                point[i] += di
                point[j] += dj
                total += sign * function(point)
            hessian[i, j] = hessian[j, i] = total / (4 * step * step)
    return hessian


def _key_errors(negative_log_likelihood, key_quantities, at: np.ndarray, step: float = 1e-6) -> np.ndarray | None:
    """Standard errors of the key quantities (logarithms) at the optimum, by the delta method with
    the inverse observed information (the Hessian of −log L). Directions where the likelihood is
    flat (eigenvalues of the Hessian near 0 or below) are left out when the key quantities do not
    move along them; when they do, the data do not determine them: None."""
    hessian = _hessian(negative_log_likelihood, at)
    if not np.all(np.isfinite(hessian)):
        return None
    base = np.asarray(key_quantities(at))
    jacobian = np.zeros((base.size, at.size))
    for i in range(at.size):
        point = at.copy()
        point[i] += step
        jacobian[:, i] = (np.asarray(key_quantities(point)) - base) / step
    eigenvalues, vectors = np.linalg.eigh(hessian)
    flat = eigenvalues <= 1e-6 * max(float(eigenvalues.max()), 1e-300)
    moved = jacobian @ vectors  # how far each key quantity moves per unit step along each direction
    if np.any(np.abs(moved[:, flat]) > 1e-2):
        return None
    return np.sqrt((moved[:, ~flat] ** 2 / eigenvalues[~flat]).sum(axis=1))


def _fit_outcome(make, objective, key_quantities, log_params: np.ndarray, result, total_weight: float) -> Fit:
    values = np.exp(log_params)
    finite = bool(np.all(np.isfinite(values))) and bool(np.isfinite(result.fun))
    interior = bool(np.all(np.abs(log_params) < LOG_BOUND - 1e-3))
    key_errors = _key_errors(lambda lp: objective(lp) * total_weight, key_quantities, log_params) if finite else None
    identified = key_errors is not None and bool(np.all(key_errors <= MAX_LOG_STANDARD_ERROR))
    converged = bool(result.success) and finite and interior and identified
    if converged:
        message = ""
    elif not result.success:
        message = str(result.message)
    elif not finite:
        message = "the likelihood is not finite"
    elif not interior:
        message = "a parameter ran to its bound"
    else:
        message = "the data do not pin the model down (flat likelihood)"
    return Fit(params=make(*(float(v) for v in values)) if finite else None,
               log_likelihood=float(-result.fun * total_weight), converged=converged, message=message,
               iterations=int(getattr(result, "nit", 0)),
               key_standard_errors=tuple(float(e) for e in key_errors) if key_errors is not None else None)


def _bgnbd_key_quantities(horizon: float):
    def key_quantities(log_params: np.ndarray) -> list[float]:
        """log(r/α), the mean purchase rate, and log E[X(horizon)]."""
        expected = float(bgnbd_expected_purchases(BgNbd(*np.exp(log_params)), horizon))
        return [log_params[0] - log_params[1], np.log(expected) if expected > 0 else -1e6]
    return key_quantities


def _gamma_gamma_key_quantities(log_params: np.ndarray) -> list[float]:
    """log(pγ/(q−1)), the mean spend (q ≤ 1: infinite, shown as a large number)."""
    lp, lq, lv = log_params
    q = np.exp(lq)
    return [lp + lv - np.log(q - 1) if q > 1 else 1e6]


def _compressed(*columns) -> tuple[list[np.ndarray], np.ndarray]:
    """Identical customers collapsed into one row with a weight: the likelihood is a sum, and days
    are whole numbers, so many customers share their summary."""
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float)


def bgnbd_fit(x, t_x, T) -> Fit:
    """Maximum-likelihood BG/NBD parameters for customers with x repeat purchases, the last at t_x,
    observed for T (same unit)."""
    (x, t_x, T), weights = _compressed(x, t_x, T)
    total = weights.sum()

    def objective(log_params):
        r, alpha, a, b = np.exp(log_params)
        ll = bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T)
        value = -(weights * ll).sum() / total
        return value if np.isfinite(value) else 1e100

    def gradient(log_params):
        r, alpha, a, b = np.exp(log_params)
        return -(weights @ bgnbd_log_likelihood_gradient(r, alpha, a, b, x, t_x, T)) * np.exp(log_params) / total

    start = np.log([1.0, max(float(np.average(T, weights=weights)), 1.0), 1.0, 2.0])
    log_params, result = _minimise(objective, start, gradient)
    horizon = float(np.average(T, weights=weights))
    return _fit_outcome(BgNbd, objective, _bgnbd_key_quantities(horizon), log_params, result, total)


def bgnbd_probability_alive(params: BgNbd, x, t_x, T) -> np.ndarray:
    """P(alive | x, t_x, T) (FHL 2005, equation 11)."""
    r, alpha, a, b = params.as_array()
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", over="ignore"):
        log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        odds = np.where(x > 0, a / np.maximum(b + x - 1, 1e-300) * np.exp(log_ratio), 0.0)
    return 1.0 / (1.0 + odds)


def bgnbd_expected_purchases(params: BgNbd, t) -> np.ndarray:
    """E[X(t)]: purchases of a new customer in (0, t] (FHL 2005, equation 9)."""
    r, alpha, a, b = params.as_array()
    a = _away_from_one(a)
    t = np.asarray(t, dtype=float)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def bgnbd_conditional_expected_purchases(params: BgNbd, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: a customer's purchases in the next t after the calibration period
    (FHL 2005, equation 10)."""
    r, alpha, a, b = params.as_array()
    a = _away_from_one(a)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    t = np.asarray(t, dtype=float)
    z = t / (alpha + T + t)
    log_shrink = (r + x) * (np.log(alpha + T) - np.log(alpha + T + t))
    numerator = (a + b + x - 1) / (a - 1) * (1 - np.exp(log_shrink) * hyp2f1(r + x, b + x, a + b + x - 1, z))
    with np.errstate(divide="ignore", over="ignore"):
        odds = np.where(x > 0, a / np.maximum(b + x - 1, 1e-300)
                        * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x))), 0.0)
    return numerator / (1 + odds)


def _away_from_one(a: float) -> float:
    """Equations 9 and 10 divide by a − 1; at a = 1 the bracket is 0 too (a removable singularity),
    so a is nudged off 1 by a relative 1e-7, which moves the result by less than that."""
    return a if abs(a - 1) > 1e-7 else 1 + 1e-7


# --- Gamma-Gamma ----------------------------------------------------------------------------

def gamma_gamma_log_likelihood(p, q, v, x, m) -> np.ndarray:
    """The log-likelihood of each customer's mean spend m̄ over x purchases (Fader & Hardie 2013,
    equation 3): Γ(px+q)/(Γ(px)Γ(q)) · γ^q m̄^(px−1) x^(px) / (γ + m̄x)^(px+q)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
            + p * x * np.log(x) - (p * x + q) * np.log(v + m * x))


def gamma_gamma_fit(x, m) -> Fit:
    """Maximum-likelihood Gamma-Gamma parameters for customers with x ≥ 1 repeat purchases of mean
    value m̄ > 0."""
    (x, m), weights = _compressed(x, m)
    total = weights.sum()

    def objective(log_params):
        p, q, v = np.exp(log_params)
        value = -(weights * gamma_gamma_log_likelihood(p, q, v, x, m)).sum() / total
        return value if np.isfinite(value) else 1e100

    start = np.log([1.0, 2.0, max(float(np.average(m, weights=weights)), 1e-6)])
    log_params, result = _minimise(objective, start)
    return _fit_outcome(GammaGamma, objective, _gamma_gamma_key_quantities, log_params, result, total)


def gamma_gamma_expected_value(params: GammaGamma, x, m) -> np.ndarray:
    """E[M | x, m̄]: the expected value of a customer's future purchases, a weighted mean of the
    population mean and their own mean: (pγ + p·x·m̄) / (p·x + q − 1). For x = 0 it is the
    population mean."""
    p, q, v = params.p, params.q, params.v
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    return (p * v + p * x * np.where(x > 0, m, 0.0)) / (p * x + q - 1)


# --- CLV ------------------------------------------------------------------------------------

def customer_lifetime_value(bgnbd: BgNbd, gamma_gamma: GammaGamma, *, x, t_x, T, m, months: int,
                            weeks_per_month: float, monthly_discount: float) -> np.ndarray:
    """Σ over months i = 1..`months` of expected value × E[purchases in month i] / (1 + d)^i, where
    E[purchases in month i] = E[Y(i months)] − E[Y(i − 1 months)]. With d = 0 this is
    expected value × E[Y(months)]."""
    value = gamma_gamma_expected_value(gamma_gamma, x, m)
    total = np.zeros(np.shape(np.asarray(x)), dtype=float)
    previous = np.zeros_like(total)
    for month in range(1, months + 1):
        cumulative = bgnbd_conditional_expected_purchases(bgnbd, month * weeks_per_month, x, t_x, T)
        total += (cumulative - previous) / (1 + monthly_discount) ** month
        previous = cumulative
    return value * total


# --- the generative process, for the tests and the benchmark ----------------------------------

def simulate(bgnbd: BgNbd, gamma_gamma: GammaGamma | None, *, T, horizon: float = 0.0,
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Customers drawn from the models: each makes a first purchase at 0 and is observed until T
    (one entry per customer). Returns their calibration summary (x, t_x, T, and m̄ when
    `gamma_gamma` is given, NaN without repeat purchases), the purchases they make in (T, T +
    horizon], and their λ, p and whether they are alive at T."""
    T = np.asarray(T, dtype=float)
    n = T.size
    lam = rng.gamma(bgnbd.r, 1 / bgnbd.alpha, n)
    drop = rng.beta(bgnbd.a, bgnbd.b, n)
    nu = rng.gamma(gamma_gamma.q, 1 / gamma_gamma.v, n) if gamma_gamma else None
    x = np.zeros(n, dtype=int)
    t_x = np.zeros(n)
    spent = np.zeros(n)
    future = np.zeros(n, dtype=int)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    active = np.ones(n, dtype=bool)  # still simulating: alive and before T + horizon
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1 / lam[idx])
        in_calibration = now[idx] <= T[idx]
        in_horizon = ~in_calibration & (now[idx] <= T[idx] + horizon)
        buying = idx[in_calibration]
        x[buying] += 1
        t_x[buying] = now[buying]
        if nu is not None:
            spent[buying] += rng.gamma(gamma_gamma.p, 1 / nu[buying])
        future[idx[in_horizon]] += 1
        purchased = idx[in_calibration | in_horizon]
        dies = purchased[rng.random(purchased.size) < drop[purchased]]
        alive[dies[now[dies] <= T[dies]]] = False
        active[dies] = False
        active[idx[~(in_calibration | in_horizon)]] = False
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(x > 0, spent / np.maximum(x, 1), np.nan)
    return {"x": x, "t_x": t_x, "T": T, "m": m, "future": future, "lam": lam, "p": drop, "alive": alive}
