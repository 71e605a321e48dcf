"""The BG/NBD and Gamma-Gamma models (insights/btyd.py) against what they claim to be: customers
drawn from the models' own generative process with known parameters (seeded), fitted back; the
closed-form expectations against Monte-Carlo simulation; the closed-form likelihoods against the
individual-level likelihood integrated numerically over the mixing distributions."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from insights import btyd

# Parameters of the order Fader, Hardie & Lee estimated on the CDNOW data (weeks, dollars).
TRUE_BGNBD = btyd.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
TRUE_GG = btyd.GammaGamma(p=6.25, q=3.74, v=15.44)


def _standard_errors(negative_log_likelihood, at: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """Asymptotic standard errors of the log-parameters, computed here over every customer: the
    square roots of the diagonal of the inverse observed information (the Hessian of −log L, by
    central differences)."""
    k = at.size
    hessian = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            def at_shift(di, dj, i=i, j=j):
                point = at.copy()
                point[i] += di
                point[j] += dj
                return negative_log_likelihood(point)
            hessian[i, j] = (at_shift(step, step) - at_shift(step, -step) - at_shift(-step, step)
                             + at_shift(-step, -step)) / (4 * step * step)
    return np.sqrt(np.diag(np.linalg.inv(hessian)))


@pytest.fixture(scope="module")
def population():
    """20,000 customers first seen at random times over two years, observed to the same day."""
    rng = np.random.default_rng(2005)
    T = rng.uniform(4, 104, 20_000)
    return btyd.simulate(TRUE_BGNBD, TRUE_GG, T=T, horizon=52, rng=rng)


def test_bgnbd_recovers_the_parameters_it_was_simulated_with(population):
    x, t_x, T = population["x"], population["t_x"], population["T"]

    fit = btyd.bgnbd_fit(x, t_x, T)

    assert fit.converged, fit.message
    estimate = np.log(fit.params.as_array())
    errors = _standard_errors(lambda lp: -btyd.bgnbd_log_likelihood(*np.exp(lp), x, t_x, T).sum(), estimate)
    truth = np.log(TRUE_BGNBD.as_array())
    # 20,000 customers pin every parameter down to within about 10 % (one standard error) ...
    assert np.all(errors < 0.12), errors
    # ... and the truth lies within four standard errors of the estimate.
    assert np.all(np.abs(estimate - truth) < 4 * errors), (fit.params, errors)
    assert fit.log_likelihood == pytest.approx(btyd.bgnbd_log_likelihood(*fit.params.as_array(), x, t_x, T).sum())


def test_gamma_gamma_recovers_the_parameters_it_was_simulated_with(population):
    repeat = population["x"] > 0
    x, m = population["x"][repeat], population["m"][repeat]

    fit = btyd.gamma_gamma_fit(x, m)

    assert fit.converged, fit.message
    params = np.array([fit.params.p, fit.params.q, fit.params.v])
    estimate = np.log(params)
    errors = _standard_errors(lambda lp: -btyd.gamma_gamma_log_likelihood(*np.exp(lp), x, m).sum(), estimate)
    truth = np.log([TRUE_GG.p, TRUE_GG.q, TRUE_GG.v])
    assert np.all(errors < 0.12), errors
    assert np.all(np.abs(estimate - truth) < 4 * errors), (fit.params, errors)
    assert fit.params.population_mean == pytest.approx(TRUE_GG.population_mean, rel=0.1)


def test_the_expected_purchases_of_a_new_customer_match_a_simulation():
    rng = np.random.default_rng(9)
    n = 200_000

    for weeks in (13.0, 52.0):
        simulated = btyd.simulate(TRUE_BGNBD, None, T=np.full(n, weeks), rng=rng)["x"]
        expected = float(btyd.bgnbd_expected_purchases(TRUE_BGNBD, weeks))
        tolerance = 4 * simulated.std() / math.sqrt(n)

        assert abs(simulated.mean() - expected) < tolerance, (weeks, simulated.mean(), expected)


def test_the_conditional_expectations_match_what_simulated_customers_then_do(population):
    """Given each customer's calibration history, E[Y(52) | x, t_x, T] and P(alive) against the
    purchases the simulation made in the next 52 weeks and whether it had them alive at T, by
    group of repeat purchases."""
    x, t_x, T, future = population["x"], population["t_x"], population["T"], population["future"]
    expected = btyd.bgnbd_conditional_expected_purchases(TRUE_BGNBD, 52.0, x, t_x, T)
    alive = btyd.bgnbd_probability_alive(TRUE_BGNBD, x, t_x, T)

    for low, high in ((0, 0), (1, 1), (2, 3), (4, 7), (8, 10_000)):
        group = (x >= low) & (x <= high)
        n = group.sum()
        assert n > 300, (low, high, n)
        future_sd = future[group].std() * math.sqrt(n)
        assert abs(future[group].sum() - expected[group].sum()) < 4 * future_sd + 1, (low, high)
        alive_sd = math.sqrt(n * 0.25)
        assert abs(population["alive"][group].sum() - alive[group].sum()) < 4 * alive_sd, (low, high)
    assert expected.sum() == pytest.approx(future.sum(), rel=0.03)


def _bgnbd_integrated(r, alpha, a, b, x, t_x, T) -> float:
    """The individual-level BG/NBD likelihood, (1−p)^x λ^x e^(−λT) + [x>0] p(1−p)^(x−1) λ^x e^(−λ t_x),
    integrated numerically over λ ~ Gamma(r, rate α) and p ~ Beta(a, b). Each term is a product of
    a function of λ and one of p, so each double integral is a product of two single ones."""
    def gamma_density(lam):
        return math.exp(r * math.log(alpha) + (r - 1) * math.log(lam) - alpha * lam - math.lgamma(r))

    def beta_density(p):
        return math.exp((a - 1) * math.log(p) + (b - 1) * math.log1p(-p)
                        - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)))

    def over_lambda(horizon):
        return integrate.quad(lambda lam: lam ** x * math.exp(-lam * horizon) * gamma_density(lam), 0, np.inf,
                              epsabs=1e-15, epsrel=1e-11, limit=400)[0]

    def over_p(weight):
        return integrate.quad(lambda p: weight(p) * beta_density(p), 0, 1, epsabs=1e-15, epsrel=1e-11,
                              limit=400)[0]

    value = over_p(lambda p: (1 - p) ** x) * over_lambda(T)
    if x > 0:
        value += over_p(lambda p: p * (1 - p) ** (x - 1)) * over_lambda(t_x)
    return value


@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 30.0), (1, 5.5, 12.0), (3, 20.0, 40.0), (7, 50.0, 52.0)])
def test_the_bgnbd_log_likelihood_is_the_integrated_individual_likelihood(x, t_x, T):
    params = (0.9, 6.0, 1.4, 3.1)

    closed = float(btyd.bgnbd_log_likelihood(*params, np.array([x]), np.array([t_x]), np.array([T]))[0])

    assert closed == pytest.approx(math.log(_bgnbd_integrated(*params, x, t_x, T)), abs=1e-6)


@pytest.mark.parametrize(("x", "m"), [(1, 35.0), (4, 12.5), (12, 80.0)])
def test_the_gamma_gamma_log_likelihood_is_the_integrated_individual_likelihood(x, m):
    """The mean of x purchases each Gamma(p, ν) is Gamma(px, xν); ν ~ Gamma(q, rate γ)."""
    p, q, v = 6.25, 3.74, 15.44

    def integrand(nu):
        return stats.gamma.pdf(m, p * x, scale=1 / (x * nu)) * stats.gamma.pdf(nu, q, scale=1 / v)

    integrated, _error = integrate.quad(integrand, 0, np.inf, epsabs=1e-16, epsrel=1e-10, limit=200)
    closed = float(btyd.gamma_gamma_log_likelihood(p, q, v, np.array([x]), np.array([m]))[0])

    assert closed == pytest.approx(math.log(integrated), abs=1e-6)


def test_the_expected_spend_of_a_simulated_customer_matches_their_next_purchases():
    """E[M | x, m̄] against the mean of many further purchases of the same simulated customers."""
    rng = np.random.default_rng(44)
    n, x = 50_000, 3
    nu = rng.gamma(TRUE_GG.q, 1 / TRUE_GG.v, n)
    past = rng.gamma(TRUE_GG.p * x, 1 / nu) / x  # the mean of x purchases
    expected = btyd.gamma_gamma_expected_value(TRUE_GG, np.full(n, x), past)
    upcoming = rng.gamma(TRUE_GG.p, 1 / nu)
    low, high = np.quantile(past, [0.25, 0.75])
    for group in (past < low, (past >= low) & (past < high), past >= high):
        tolerance = 4 * upcoming[group].std() / math.sqrt(group.sum())
        assert abs(upcoming[group].mean() - expected[group].mean()) < tolerance


def test_clv_without_discount_is_expected_spend_times_expected_visits_and_discounting_lowers_it(population):
    x, t_x, T = population["x"][:500], population["t_x"][:500], population["T"][:500]
    m = np.nan_to_num(population["m"][:500])
    weeks_per_month = 365.25 / 12 / 7

    plain = btyd.customer_lifetime_value(TRUE_BGNBD, TRUE_GG, x=x, t_x=t_x, T=T, m=m, months=12,
                                         weeks_per_month=weeks_per_month, monthly_discount=0.0)
    discounted = btyd.customer_lifetime_value(TRUE_BGNBD, TRUE_GG, x=x, t_x=t_x, T=T, m=m, months=12,
                                              weeks_per_month=weeks_per_month, monthly_discount=0.01)

    visits = btyd.bgnbd_conditional_expected_purchases(TRUE_BGNBD, 12 * weeks_per_month, x, t_x, T)
    assert plain == pytest.approx(btyd.gamma_gamma_expected_value(TRUE_GG, x, m) * visits)
    assert np.all(discounted < plain)
    assert np.all(discounted > plain / 1.01 ** 12)


def test_a_history_where_nobody_comes_back_does_not_pass_for_a_converged_fit():
    """Nobody ever buying again: the purchase rate's MLE runs off to 0, which the fit must report
    as not converged rather than as parameters."""
    fit = btyd.bgnbd_fit(np.zeros(500), np.zeros(500), np.linspace(10, 60, 500))

    assert not fit.converged and fit.message


def test_a_history_without_visible_drop_out_still_predicts():
    """Everyone buying about weekly and nobody stopping: a and b are not pinned down (a flat
    ridge), but the predictions are; the fit converges and expects them to go on buying."""
    rng = np.random.default_rng(3)
    sim = btyd.simulate(btyd.BgNbd(r=20.0, alpha=20.0, a=1.0, b=1e6), None, T=np.full(2000, 50.0), rng=rng)

    fit = btyd.bgnbd_fit(sim["x"], sim["t_x"], sim["T"])

    assert fit.converged, fit.message
    expected = btyd.bgnbd_conditional_expected_purchases(fit.params, 10.0, sim["x"], sim["t_x"], sim["T"])
    assert expected.mean() == pytest.approx(10.0, rel=0.05)


def test_the_bgnbd_gradient_is_the_derivative_of_the_log_likelihood():
    x, t_x, T = np.array([0, 1, 3, 7, 12]), np.array([0, 5.5, 20, 50, 51]), np.array([30, 12, 40, 52, 52.5])
    params = np.array([0.9, 6.0, 1.4, 3.1])
    step = 1e-6

    analytic = btyd.bgnbd_log_likelihood_gradient(*params, x, t_x, T)
    for k in range(4):
        up, down = params.copy(), params.copy()
        up[k] += step
        down[k] -= step
        numeric = (btyd.bgnbd_log_likelihood(*up, x, t_x, T) - btyd.bgnbd_log_likelihood(*down, x, t_x, T)) / (2 * step)
        assert analytic[:, k] == pytest.approx(numeric, rel=1e-5, abs=1e-7)
