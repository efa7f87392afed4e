//! The rules that cut a series when a [`Cut`](super::Cut) leaves a setting unset: the season
//! ([`detect_season`]), the held-out part ([`test_len_rule`]) and the window ([`window_rule`]).

/// The longest season [`detect_season`] looks for, in steps (a week of half-hours is 336, a
/// year of days 365): it bounds the search's cost at this many products a step.
pub const LONGEST_SEASON: usize = 1000;

/// The season of a series, if it has one: the lag, from 2 to a third of the series (at most
/// [`LONGEST_SEASON`]), at which the autocorrelation of the series less its straight-line trend
/// has its highest peak, provided that peak stands above the noise (3/√n: the highest of a
/// white noise's few hundred lags reaches about that). The usual (biased) estimator shrinks
/// longer lags, so a season wins over its multiples unless a longer one is stronger (a week of
/// days over a day).
pub fn detect_season(y: &[f64]) -> Option<usize> {
    let n = y.len();
    if n < 8 {
        return None;
    }
    // Least squares of y on t, then what it leaves.
    let tm = (n - 1) as f64 / 2.0;
    let ym = y.iter().sum::<f64>() / n as f64;
    let (mut sty, mut stt) = (0.0, 0.0);
    for (t, v) in y.iter().enumerate() {
        let dt = t as f64 - tm;
        (sty, stt) = (sty + dt * (v - ym), stt + dt * dt);
    }
    let slope = sty / stt;
    let d: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(t, v)| v - ym - slope * (t as f64 - tm))
        .collect();
    let energy: f64 = d.iter().map(|v| v * v).sum();
    if !(energy > 1e-12 * n as f64 * ym.abs().max(1.0).powi(2) && energy.is_finite()) {
        return None;
    }
    let longest = (n / 3).min(LONGEST_SEASON);
    let acf = |k: usize| {
        d[..n - k]
            .iter()
            .zip(&d[k..])
            .map(|(a, b)| a * b)
            .sum::<f64>()
            / energy
    };
    let r: Vec<f64> = (0..=longest + 1).map(acf).collect();
    let band = 3.0 / (n as f64).sqrt();
    (2..=longest)
        .filter(|&k| r[k] > r[k - 1] && r[k] >= r[k + 1] && r[k] > band)
        .max_by(|&a, &b| r[a].total_cmp(&r[b]).then(b.cmp(&a)))
}

/// Steps held out at the end of a series of `n` steps by default: a tenth of it, and at least
/// one forecast of `horizon` steps.
pub fn test_len_rule(n: usize, horizon: usize) -> usize {
    (n / 10).max(horizon)
}

/// Past steps a forecast reads by default: one season for a long one (more than 24 steps), else
/// two seasons, and at least the horizon and 12 steps; at most half of the training part the
/// windows can start in (so that at least half as many windows train as it has steps), and at
/// least the season a model correcting the seasonal naive forecast reads.
pub fn window_rule(
    n: usize,
    horizon: usize,
    test_len: usize,
    season: usize,
    residual: bool,
) -> usize {
    let m = season.max(1);
    let want = if m > 24 {
        m
    } else {
        (2 * m).max(horizon).max(12)
    };
    let lead = if residual { m } else { 0 };
    let room = n.saturating_sub(test_len.saturating_add(lead).saturating_add(horizon)) / 2;
    want.min(room).max(if residual { m } else { 1 })
}
