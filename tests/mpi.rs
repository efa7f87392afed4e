//! Training across processes: `mpirun -np 2 blasrnn train … --threads 1` against `--threads 2`
//! in one process (the same weights, bit for bit), four ranks run twice, a checkpoint of two
//! ranks resumed in one process, and a rank started with other settings refused. Needs Open
//! MPI's `mpirun` on the PATH.

use std::path::Path;
use std::process::Command;

const EXE: &str = env!("CARGO_BIN_EXE_blasrnn");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `blasrnn` with `args`, alone (`ranks` = 0) or as `ranks` processes under `mpirun`; its
/// output, asserting success.
fn run(ranks: usize, args: &[&str]) -> String {
    let out = launch(ranks, args);
    assert!(
        out.status.success(),
        "{ranks} ranks, {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn launch(ranks: usize, args: &[&str]) -> std::process::Output {
    let mut cmd = if ranks == 0 {
        let mut c = Command::new(EXE);
        c.current_dir(ROOT);
        c
    } else {
        mpirun(ranks)
    };
    cmd.args(args)
        .output()
        .expect("mpirun (Open MPI) on the PATH")
}

/// `mpirun` starting `ranks` copies of the binary (more than the cores if need be; as root too).
fn mpirun(ranks: usize) -> Command {
    let mut c = Command::new("mpirun");
    c.args(["--oversubscribe", "-np", &ranks.to_string(), EXE])
        .current_dir(ROOT)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    c
}

fn params(path: &Path) -> Vec<u64> {
    let m = blasrnn::Model::load(path).unwrap();
    m.params().iter().map(|p| p.to_bits()).collect()
}

const SEED: &[&str] = &["train", "--iters", "40", "--quiet"];
const TEXT: &[&str] = &[
    "train",
    "--text",
    "data/tinyshakespeare/input.txt",
    "--iters",
    "20",
    "--hidden",
    "64",
    "--batch",
    "16",
    "--seq-len",
    "32",
    "--quiet",
];

/// Resumes the language model saved at `path`, alone or on `ranks`, with `more` flags, saving
/// back to `path`.
fn resume(ranks: usize, path: &str, more: &[&str]) {
    let text = "data/tinyshakespeare/input.txt";
    let args = [
        "train", "--resume", path, "--text", text, "--save", path, "--quiet",
    ];
    run(ranks, &with(&args, more));
}

/// The language model of `TEXT` trained for `iters` iterations (none: for its time budget, with
/// its progress shown), with `more` flags.
fn text_for<'a>(iters: Option<&'a str>, more: &[&'a str]) -> Vec<&'a str> {
    let rest = TEXT
        .iter()
        .copied()
        .filter(|&a| !["--iters", "20", "--quiet"].contains(&a));
    let iters = iters
        .map(|n| ["--iters", n, "--quiet"])
        .into_iter()
        .flatten();
    rest.chain(iters).chain(more.iter().copied()).collect()
}

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn two_ranks_of_one_thread_are_one_process_of_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    for (what, base) in [("seed model", SEED), ("language model", TEXT)] {
        let one = dir.path().join("one.safetensors");
        let two = dir.path().join("two.safetensors");
        let (one_s, two_s) = (one.to_str().unwrap(), two.to_str().unwrap());
        run(0, &with(base, &["--threads", "2", "--save", one_s]));
        let said = run(2, &with(base, &["--threads", "1", "--save", two_s]));
        assert_eq!(params(&one), params(&two), "{what}");
        assert_eq!(
            said.matches("saved").count(),
            1,
            "rank 0 alone speaks: {said}"
        );
    }
}

#[test]
fn four_ranks_give_the_same_weights_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.safetensors");
    let b = dir.path().join("b.safetensors");
    for p in [&a, &b] {
        run(
            4,
            &with(TEXT, &["--threads", "1", "--save", p.to_str().unwrap()]),
        );
    }
    assert_eq!(params(&a), params(&b));
}

#[test]
fn a_checkpoint_resumes_on_another_number_of_ranks() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.safetensors");
    let whole_s = whole.to_str().unwrap();
    run(0, &with(TEXT, &["--threads", "2", "--save", whole_s]));
    // Stopped on two ranks and resumed by one process, and the other way round.
    for (first, then) in [(2, 0), (0, 2)] {
        let part = dir.path().join(format!("part{first}.safetensors"));
        let p = part.to_str().unwrap();
        let threads = |ranks| if ranks == 0 { "2" } else { "1" };
        let stop = ["--threads", threads(first), "--stop-at", "10", "--save", p];
        run(first, &with(TEXT, &stop));
        resume(then, p, &["--threads", threads(then)]);
        assert_eq!(params(&whole), params(&part), "{first} ranks, then {then}");
    }
}

#[test]
fn a_rank_with_other_settings_is_refused() {
    // Two programs (MPMD): rank 0 with seed 1, rank 1 with seed 2.
    let alike = [
        "train",
        "--iters",
        "5",
        "--threads",
        "1",
        "--quiet",
        "--seed",
    ];
    let out = mpirun(1)
        .args(alike)
        .arg("1")
        .args([":", "-np", "1", EXE])
        .args(alike)
        .arg("2")
        .output()
        .expect("mpirun");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("differ from rank 0's"), "{err}");
}

#[test]
fn ctrl_c_stops_every_rank_at_one_step_and_rank_0_saves_what_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stopped.safetensors");
    let p = path.to_str().unwrap();
    let long = text_for(Some("1000000"), &["--threads", "1", "--save", p]);
    let mpirun = mpirun(2)
        .args(long)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mpirun");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let pid = mpirun.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let out = mpirun.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("stopped by SIG"),
        "{said} {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let done = blasrnn::Model::load(&path).unwrap().iteration();
    assert!(0 < done && done < 1_000_000, "{done}");
    let more = (done + 3).to_string();
    resume(0, p, &["--stop-at", &more]);
    assert_eq!(blasrnn::Model::load(&path).unwrap().iteration(), done + 3);
}

#[test]
fn a_killed_rank_ends_the_job_and_leaves_the_last_checkpoint_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kept.safetensors");
    let p = path.to_str().unwrap();
    let long = text_for(
        Some("1000000"),
        &["--threads", "1", "--save-every", "20", "--save", p],
    );
    let job = mpirun(2)
        .args(long)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mpirun");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let children = Command::new("pgrep")
        .args(["-P", &job.id().to_string()])
        .output()
        .unwrap();
    let children = String::from_utf8_lossy(&children.stdout);
    let rank = children.split_whitespace().last().expect("a rank");
    Command::new("kill").args(["-KILL", rank]).status().unwrap();
    let out = job.wait_with_output().unwrap();
    assert!(!out.status.success());
    let done = blasrnn::Model::load(&path).unwrap().iteration();
    assert!(done > 0 && done % 20 == 0, "{done}");
    let more = (done + 2).to_string();
    resume(0, p, &["--stop-at", &more]);
}

#[test]
fn a_time_budget_is_fixed_by_rank_0_for_every_rank() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("budget.safetensors");
    let p = path.to_str().unwrap();
    let budget = text_for(
        None,
        &["--time-budget", "2s", "--threads", "1", "--save", p],
    );
    let said = run(2, &budget);
    let bought = said
        .lines()
        .find_map(|l| l.strip_prefix("the time budget buys "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no schedule in {said}"));
    assert_eq!(said.matches("the time budget buys").count(), 1, "{said}");
    assert_eq!(blasrnn::Model::load(&path).unwrap().iteration(), bought);
}
