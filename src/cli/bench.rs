//! `blasrnn bench`: every workload's training throughput in one run, against this machine's
//! large-GEMM rates, the original algorithm and the same work on one thread.

use super::banner;
use super::console::Console;
use anyhow::Result;
use blasrnn::bench::{self, flops_per_prediction, median, throughputs};
use blasrnn::blas::Cutting;
use blasrnn::data::Kind;
use blasrnn::data::mnist::Mnist;
use blasrnn::data::text::Corpus;
use blasrnn::network::{Network, NetworkConfig};
use blasrnn::nn::cell::CellKind;
use blasrnn::real::{Dtype, Real};
use blasrnn::reference::IMAGES_PER_ITER;
use blasrnn::sample::{SampleOptions, Sampler};
use blasrnn::train::{Data, TrainConfig, default_threads};
use clap::{Args, ValueEnum};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// The seed model (tanh, H = 50, batch 100, f64) on MNIST, and on one thread beside it.
    Seed,
    /// LSTM, H = 128, batch 100, on MNIST, in f64 and f32.
    Lstm,
    /// GRU, H = 128, batch 100, on MNIST, in f64 and f32.
    Gru,
    /// The default language model (LSTM 2×256, 64 streams × 100 characters, f32) on the text.
    Lm,
    /// Sampling from the default language model, one stream.
    Sample,
    /// The original algorithm, one image at a time.
    Reference,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Directory holding the MNIST IDX files.
    #[arg(long, default_value = "data/mnist")]
    data: PathBuf,
    /// The text the language model trains on.
    #[arg(long, default_value = "data/tinyshakespeare/input.txt")]
    text: PathBuf,
    /// Threads for the engine and for the GEMM rates [default: all cores].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,
    /// Threads each shard of a batch splits its steps across (a divisor of --threads) [default:
    /// chosen as `train` chooses].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    step_threads: Option<u32>,
    /// Samples the seed model trains on, split into 5 timed segments; the LSTM and GRU at H = 128
    /// train on an eighth of it.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(2500..))]
    engine_samples: u64,
    /// Iterations (of 64 × 100 characters) of each of the language model's 5 timed segments.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    lm_iters: u64,
    /// Images the reference algorithm trains on, split into 5 timed segments.
    #[arg(long, default_value_t = 2500, value_parser = clap::value_parser!(u64).range(500..))]
    reference_samples: u64,
    /// Size n of the n×n×n products that measure this machine's GEMM rates.
    #[arg(long, alias = "dgemm-size", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(64..=8192))]
    gemm_size: u32,
    /// The workloads to measure (comma-separated) [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Workload>,
    /// Also measure every engine workload with each product made in one BLAS call, as before
    /// blasrnn cut products for OpenBLAS's small-matrix kernels, interleaved in the same run.
    #[arg(long)]
    uncut: bool,
    /// Instead of the workloads' throughputs: the seed model's and the language model's
    /// projected speedup on 1 to 64 threads, from what one thread does with its part of the
    /// work, and the real speedup where this machine has the cores (see docs/scaling.md).
    #[arg(long)]
    scaling: bool,
    /// Instead of the workloads' throughputs, under `mpirun` (a binary built with the feature
    /// `mpi`): what a training step's exchange between the ranks costs for the seed model's and
    /// the language model's gradients (see docs/distributed.md).
    #[arg(long)]
    exchange: bool,
    /// Timed iterations of each shard measured by --scaling.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    scaling_iters: u64,
    /// Keep subnormal numbers instead of flushing them to zero on every thread (what that costs
    /// on this CPU: compare a run with and without).
    #[arg(long)]
    keep_subnormals: bool,
    /// Training steps of each workload's subnormal probe, run before its timed segments with
    /// subnormals kept (0 = no probe).
    #[arg(long, default_value_t = 10)]
    probe_steps: u64,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    json: bool,
}

/// The run of `config`, and with several threads the same work on one thread too (measured
/// interleaved in the same bench run).
fn with_one_thread(
    config: &TrainConfig,
    model: NetworkConfig,
) -> Vec<(TrainConfig, NetworkConfig)> {
    let mut runs = vec![(config.clone(), model)];
    if config.threads > 1 {
        let one = TrainConfig {
            threads: 1,
            step_threads: None,
            ..config.clone()
        };
        runs.push((one, model));
    }
    runs
}

/// `runs` with products cut where the library gains (the default), then, with `uncut`, each of
/// them again with every product one call.
fn cut_and_uncut(
    runs: Vec<(TrainConfig, NetworkConfig)>,
    uncut: bool,
) -> Vec<(TrainConfig, NetworkConfig, Cutting)> {
    let mut all: Vec<_> = runs
        .iter()
        .map(|(c, m)| (c.clone(), *m, Cutting::Auto))
        .collect();
    if uncut {
        all.extend(runs.into_iter().map(|(c, m)| (c, m, Cutting::Off)));
    }
    all
}

/// The line (and JSON key) of a workload measured uncut beside its cut run.
fn uncut_line(
    console: &Console,
    out: &mut Map<String, Value>,
    key: &str,
    cut: f64,
    uncut: f64,
    unit: &str,
) {
    console.say(format_args!(
        "  the same uncut (every product one BLAS call): {uncut:.0} {unit}/s; cut / uncut = {:.2}×",
        cut / uncut
    ));
    out.insert(format!("{key}_uncut_per_sec"), uncut.into());
}

/// What every workload's line and JSON keys need.
struct Rates {
    threads: usize,
    dgemm: f64,
    sgemm: f64,
}

impl Rates {
    fn peak(&self, dtype: Dtype) -> (f64, &'static str) {
        match dtype {
            Dtype::F64 => (self.dgemm, "dgemm"),
            Dtype::F32 => (self.sgemm, "sgemm"),
        }
    }
}

pub fn run(a: BenchArgs) -> Result<()> {
    let threads = a.threads.map_or_else(default_threads, |t| t as usize);
    let step_threads = a.step_threads.map(|t| t as usize);
    if let Some(t) = step_threads.filter(|t| threads % t != 0) {
        anyhow::bail!("--step-threads {t} does not divide --threads {threads}");
    }
    let plural = if threads == 1 { "" } else { "s" };
    let console = Console::new(a.json, false);
    let on = |w: Workload| a.only.is_empty() || a.only.contains(&w);
    let mut out = Map::new();
    if a.exchange {
        super::exchange::run(&console, &a.data, &a.text, &mut out)?;
        if a.json && out.contains_key("exchange_ranks") {
            println!("{}", Value::Object(out));
        }
        return Ok(());
    }
    banner(&console, threads);
    if let Some(c) = blasrnn::blas::config() {
        out.insert("blas_config".into(), c.into());
    }
    if let Ok(core) = std::env::var("OPENBLAS_CORETYPE") {
        console.say(format_args!(
            "note: OPENBLAS_CORETYPE={core} is set: OpenBLAS runs that kernel family whatever this CPU \
             supports, so these figures are not what a machine without it sees; unset it (and \
             OPENBLAS_L2_SIZE) in this command to measure what a user gets"
        ));
        out.insert("openblas_coretype".into(), core.into());
    }
    let cut = blasrnn::blas::small_kernels_linked();
    console.say(format_args!(
        "GEMM: {}",
        if cut {
            "products cut into pieces for OpenBLAS's small-matrix kernels"
        } else {
            "every product one call (this library has no small-matrix kernels to cut them for)"
        }
    ));
    out.insert("cut_products".into(), cut.into());
    subnormals_line(&console, &mut out, a.keep_subnormals);
    if a.scaling {
        let mnist = (a.only.is_empty() || on(Workload::Seed)).then_some(a.data.as_path());
        let text = (a.only.is_empty() || on(Workload::Lm)).then_some(a.text.as_path());
        super::scaling::run(&console, mnist, text, a.scaling_iters as usize, &mut out)?;
        if a.json {
            println!("{}", Value::Object(out));
        }
        return Ok(());
    }
    let n = a.gemm_size as usize;
    let rates = Rates {
        threads,
        dgemm: bench::gemm_peak::<f64>(n, threads, 7),
        sgemm: bench::gemm_peak::<f32>(n, threads, 7),
    };
    console.say(format_args!(
        "dgemm {n}×{n}×{n}, {threads} BLAS thread{plural}: {:.1} GFLOP/s; sgemm: {:.1} GFLOP/s (medians of 7)",
        rates.dgemm, rates.sgemm
    ));
    out.insert("dgemm_peak_gflops".into(), rates.dgemm.into());
    out.insert("sgemm_peak_gflops".into(), rates.sgemm.into());
    out.insert("gemm_size".into(), n.into());
    out.insert("threads".into(), threads.into());
    out.insert("backend".into(), blasrnn::blas::backend().into());

    let bench = Bench {
        a: &a,
        console,
        rates,
        threads,
        step_threads,
    };
    let mnist = if [
        Workload::Seed,
        Workload::Lstm,
        Workload::Gru,
        Workload::Reference,
    ]
    .iter()
    .any(|&w| on(w))
    {
        Some(Mnist::load(&a.data)?)
    } else {
        None
    };
    let mut seed_rate = None;
    if let Some(m) = &mnist {
        if on(Workload::Seed) {
            seed_rate = Some(bench.seed(m, &mut out)?);
        }
        bench.cells(m, &mut out)?;
    }
    bench.text(&mut out)?;
    bench.reference(mnist.as_ref(), seed_rate, &mut out);
    if a.json {
        println!("{}", Value::Object(out));
    }
    Ok(())
}

/// What every workload reads: the flags, the console, this machine's GEMM rates, the threads.
struct Bench<'a> {
    a: &'a BenchArgs,
    console: Console,
    rates: Rates,
    threads: usize,
    step_threads: Option<usize>,
}

impl Bench<'_> {
    /// Whether `--only` asks for `w` (or for everything).
    fn on(&self, w: Workload) -> bool {
        self.a.only.is_empty() || self.a.only.contains(&w)
    }

    fn plural(&self) -> &'static str {
        if self.threads == 1 { "" } else { "s" }
    }

    /// The seed model (tanh, H = 50, f64) on MNIST, on every thread and on one; its rate.
    fn seed(&self, m: &Mnist, out: &mut Map<String, Value>) -> Result<f64> {
        let (a, console, rates) = (self.a, &self.console, &self.rates);
        let (threads, step_threads, plural) = (self.threads, self.step_threads, self.plural());
        let data = Data::Labelled(&m.train);
        let config = TrainConfig {
            threads,
            step_threads,
            keep_subnormals: a.keep_subnormals,
            ..TrainConfig::for_kind(Kind::Images)
        };
        let model = config.classifier(&m.train);
        let probed = probe::<f64>(a, data, &config, model)?;
        let runs = with_one_thread(&config, model);
        let seg_iters = (a.engine_samples as usize / config.batch / 5).max(1);
        let runs = cut_and_uncut(runs, a.uncut);
        let r = throughputs::<f64>(data, &runs, 20, 5, seg_iters)?;
        let half = runs.len() / if a.uncut { 2 } else { 1 };
        let key = "engine";
        line::<f64>(
            console,
            rates,
            out,
            key,
            "tanh, H=50, batch 100",
            &config,
            model,
            r[0],
            "samples",
        );
        out.insert("engine_samples_per_sec".into(), r[0].into());
        probe_line(console, out, key, probed);
        if a.uncut {
            uncut_line(console, out, key, r[0], r[half], "samples");
        }
        if half > 1 {
            let single = r[1];
            console.say(format_args!(
                "engine on 1 thread: {single:.0} samples/s; {threads} thread{plural} / 1 thread = {:.2}×",
                r[0] / single
            ));
            out.insert("engine_1thread_samples_per_sec".into(), single.into());
            out.insert("thread_scaling".into(), (r[0] / single).into());
            if a.uncut {
                let key = "engine_1thread";
                uncut_line(console, out, key, single, r[half + 1], "samples");
            }
        }
        Ok(r[0])
    }

    /// LSTM and GRU, H = 128, on MNIST, in f64 and f32.
    fn cells(&self, m: &Mnist, out: &mut Map<String, Value>) -> Result<()> {
        let (a, console, rates) = (self.a, &self.console, &self.rates);
        let (threads, step_threads) = (self.threads, self.step_threads);
        let on = |w| self.on(w);
        let data = Data::Labelled(&m.train);
        for (w, cell) in [
            (Workload::Lstm, CellKind::Lstm),
            (Workload::Gru, CellKind::Gru),
        ] {
            if !on(w) {
                continue;
            }
            let base = TrainConfig {
                cell,
                hidden: 128,
                threads,
                step_threads,
                keep_subnormals: a.keep_subnormals,
                ..TrainConfig::for_kind(Kind::Images)
            };
            let model = base.classifier(&m.train);
            let iters = (a.engine_samples as usize / base.batch / 5 / 8).max(1);
            let mut by_dtype = Vec::with_capacity(2);
            for dtype in [Dtype::F64, Dtype::F32] {
                let config = TrainConfig {
                    dtype,
                    ..base.clone()
                };
                let runs = cut_and_uncut(vec![(config.clone(), model)], a.uncut);
                let (rs, probed) = match dtype {
                    Dtype::F64 => (
                        throughputs::<f64>(data, &runs, 5, 5, iters)?,
                        probe::<f64>(a, data, &config, model)?,
                    ),
                    Dtype::F32 => (
                        throughputs::<f32>(data, &runs, 5, 5, iters)?,
                        probe::<f32>(a, data, &config, model)?,
                    ),
                };
                let r = rs[0];
                let key = match dtype {
                    Dtype::F64 => format!("{}_h128", cell.name()),
                    Dtype::F32 => format!("{}_h128_f32", cell.name()),
                };
                let what = format!("{}, H=128, batch 100", cell.name());
                match dtype {
                    Dtype::F64 => line::<f64>(
                        console, rates, out, &key, &what, &config, model, r, "samples",
                    ),
                    Dtype::F32 => line::<f32>(
                        console, rates, out, &key, &what, &config, model, r, "samples",
                    ),
                }
                out.insert(format!("{key}_samples_per_sec"), r.into());
                probe_line(console, out, &key, probed);
                if let Some(&uncut) = rs.get(1) {
                    uncut_line(console, out, &key, r, uncut, "samples");
                }
                by_dtype.push(r);
            }
            if let [f64_rate, f32_rate] = by_dtype[..] {
                dtype_ratio(console, out, cell.name(), f64_rate, f32_rate);
            }
        }
        Ok(())
    }

    /// The default language model's training and sampling.
    fn text(&self, out: &mut Map<String, Value>) -> Result<()> {
        let (a, console, rates) = (self.a, &self.console, &self.rates);
        let (threads, step_threads, plural) = (self.threads, self.step_threads, self.plural());
        let on = |w| self.on(w);
        if on(Workload::Lm) || on(Workload::Sample) {
            let corpus = Corpus::load(&a.text, 0.1, None)?;
            let config = TrainConfig {
                threads,
                step_threads,
                keep_subnormals: a.keep_subnormals,
                ..TrainConfig::for_kind(Kind::Text)
            };
            let model = config.language_model(corpus.vocab.len());
            if on(Workload::Lm) {
                let runs = with_one_thread(&config, model);
                let runs = cut_and_uncut(runs, a.uncut);
                let text = Data::Text(&corpus.train);
                let probed = probe::<f32>(a, text, &config, model)?;
                let rs = throughputs::<f32>(text, &runs, 3, 5, a.lm_iters as usize)?;
                let half = runs.len() / if a.uncut { 2 } else { 1 };
                let r = rs[0];
                let what = "language model: lstm 2×256, 64 streams × 100 chars";
                line::<f32>(console, rates, out, "lm", what, &config, model, r, "chars");
                out.insert("lm_tokens_per_sec".into(), r.into());
                probe_line(console, out, "lm", probed);
                if a.uncut {
                    uncut_line(console, out, "lm", r, rs[half], "chars");
                }
                if half > 1 {
                    let single = rs[1];
                    console.say(format_args!(
                        "language model on 1 thread: {single:.0} chars/s; {threads} threads / 1 thread = {:.2}×",
                        r / single
                    ));
                    out.insert("lm_1thread_tokens_per_sec".into(), single.into());
                    out.insert("lm_thread_scaling".into(), (r / single).into());
                }
            }
            if on(Workload::Sample) {
                let counts: &[usize] = if threads > 1 { &[threads, 1] } else { &[1] };
                let r = sampling_rates(model, 2000, 5, counts, a.keep_subnormals)?;
                console.say(format_args!(
                    "sampling (the language model above, one stream, f32, {threads} thread{plural}): {:.0} chars/s",
                    r[0]
                ));
                out.insert("sample_chars_per_sec".into(), r[0].into());
                if let Some(&single) = r.get(1) {
                    console.say(format_args!(
                        "sampling on 1 thread: {single:.0} chars/s; {threads} threads / 1 thread = {:.2}×",
                        r[0] / single
                    ));
                    out.insert("sample_1thread_chars_per_sec".into(), single.into());
                    out.insert("sample_thread_scaling".into(), (r[0] / single).into());
                }
            }
        }
        Ok(())
    }

    /// The original algorithm, one image at a time, and the engine's speed-up over it.
    fn reference(
        &self,
        mnist: Option<&Mnist>,
        seed_rate: Option<f64>,
        out: &mut Map<String, Value>,
    ) {
        let (console, on) = (&self.console, |w| self.on(w));
        let a = self.a;
        if let (Some(m), true) = (mnist, on(Workload::Reference)) {
            let ref_iters = (a.reference_samples as usize / IMAGES_PER_ITER / 5).max(1);
            let reference = bench::reference_throughput(&m.train, 50, 5, ref_iters);
            console.say(format_args!(
                "reference (the original algorithm, one image at a time, 1 thread): {reference:.0} images/s"
            ));
            out.insert("reference_samples_per_sec".into(), reference.into());
            if let Some(engine) = seed_rate {
                console.say(format_args!(
                    "speedup engine / reference: {:.1}×",
                    engine / reference
                ));
                out.insert("speedup".into(), (engine / reference).into());
            }
        }
    }
}

/// One workload's line: rate, exact FLOPs per prediction, GFLOP/s and the fraction of the GEMM
/// rate of its dtype; the same in `out` under `key`.
#[allow(clippy::too_many_arguments)]
fn line<T: Real>(
    console: &Console,
    rates: &Rates,
    out: &mut Map<String, Value>,
    key: &str,
    what: &str,
    config: &TrainConfig,
    model: NetworkConfig,
    rate: f64,
    unit: &str,
) {
    let t = if config.seq_len > 0 {
        config.seq_len
    } else {
        28
    };
    let flops = flops_per_prediction(&Network::<T>::new(model), config.batch, t);
    let gflops = rate * flops / 1e9;
    let (peak, routine) = rates.peak(config.dtype);
    console.say(format_args!(
        "engine ({what}, {}, {} thread{}): {rate:.0} {unit}/s, {:.3} MFLOP/{}, {gflops:.1} GFLOP/s = {:.0}% of the {routine} rate",
        config.dtype.name(),
        rates.threads,
        if rates.threads == 1 { "" } else { "s" },
        flops / 1e6,
        unit.trim_end_matches('s'),
        100.0 * gflops / peak
    ));
    out.insert(format!("{key}_gflops"), gflops.into());
    out.insert(format!("{key}_flops_per_sample"), flops.into());
    out.insert(format!("{key}_peak_fraction"), (gflops / peak).into());
}

/// Characters a second that one stream of a fresh `model` (f32) generates with each thread count
/// of `threads`: the median of `segments` runs of `chars`, the counts' runs alternating.
fn sampling_rates(
    model: NetworkConfig,
    chars: usize,
    segments: usize,
    threads: &[usize],
    keep_subnormals: bool,
) -> Result<Vec<f64>> {
    let m = Network::<f32>::new(model);
    let params = m.init(
        blasrnn::network::Init::Uniform,
        &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1),
    );
    let mut samplers = threads
        .iter()
        .map(|&threads| {
            let options = SampleOptions {
                threads,
                keep_subnormals,
                ..SampleOptions::default()
            };
            let mut s = Sampler::new(&m, &params, options, 100)?;
            s.feed(&[0]);
            Ok(s)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut rates = vec![Vec::with_capacity(segments); threads.len()];
    for _ in 0..segments {
        for (s, r) in samplers.iter_mut().zip(&mut rates) {
            let start = Instant::now();
            for _ in 0..chars {
                s.next_token();
            }
            r.push(chars as f64 / start.elapsed().as_secs_f64());
        }
    }
    Ok(rates.into_iter().map(median).collect())
}

/// The line saying whether this run flushes subnormal numbers, and how.
fn subnormals_line(console: &Console, out: &mut Map<String, Value>, keep: bool) {
    use blasrnn::blas::flush;
    let flushed = !keep && flush::SUPPORTED;
    console.say(format_args!(
        "subnormals: {}",
        if flushed {
            format!(
                "flushed to zero on every thread that computes ({})",
                flush::BITS_NAME
            )
        } else if keep {
            "kept (--keep-subnormals): IEEE gradual underflow, slow on Intel cores".to_string()
        } else {
            "kept: this architecture has no flush setting blasrnn knows".to_string()
        }
    ));
    out.insert("subnormals_flushed".into(), flushed.into());
}

/// `bench_args.probe_steps` steps of `config` with subnormals kept: how many of the numbers its
/// products read and write are subnormal (`None` without a probe).
fn probe<T: Real>(
    a: &BenchArgs,
    data: Data,
    config: &TrainConfig,
    model: NetworkConfig,
) -> Result<Option<(usize, usize)>> {
    if a.probe_steps == 0 {
        return Ok(None);
    }
    Ok(Some(bench::subnormal_probe::<T>(
        data,
        config,
        model,
        a.probe_steps as usize,
    )?))
}

/// A workload's probe: the share of subnormals among the numbers its steps' products read and
/// write, with subnormals kept.
fn probe_line(
    console: &Console,
    out: &mut Map<String, Value>,
    key: &str,
    probed: Option<(usize, usize)>,
) {
    let Some((sub, all)) = probed else { return };
    let share = sub as f64 / all.max(1) as f64;
    console.say(format_args!(
        "  subnormals reaching the products (a probe before the timed runs, with them kept): {sub} of {all} numbers ({:.4}%)",
        100.0 * share
    ));
    out.insert(format!("{key}_probe_subnormals"), sub.into());
    out.insert(format!("{key}_probe_subnormal_fraction"), share.into());
}

/// A cell's f32 rate against its f64 rate, and a warning when f32 is the slower.
fn dtype_ratio(
    console: &Console,
    out: &mut Map<String, Value>,
    cell: &str,
    f64_rate: f64,
    f32_rate: f64,
) {
    let ratio = f32_rate / f64_rate;
    console.say(format_args!("  {cell}: f32 / f64 = {ratio:.2}×"));
    out.insert(format!("{cell}_f32_over_f64"), ratio.into());
    if ratio < 1.0 {
        console.say(format_args!(
            "warning: {cell} trains slower in f32 ({f32_rate:.0} samples/s) than in f64 \
             ({f64_rate:.0}): subnormal numbers (see the probe above and --keep-subnormals), a BLAS \
             without fast single-precision kernels, or a busy machine"
        ));
    }
}
