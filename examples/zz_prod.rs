use blasrnn::blas::{self, Op};
use std::time::Instant;
fn time(f: &mut dyn FnMut()) -> f64 {
    for _ in 0..20 {
        f();
    }
    let mut best = Vec::new();
    for _ in 0..7 {
        let s = Instant::now();
        for _ in 0..200 {
            f();
        }
        best.push(s.elapsed().as_secs_f64() / 200.0);
    }
    best.sort_by(f64::total_cmp);
    best[3]
}
fn main() {
    blas::set_threads(1);
    let (h, g) = (256usize, 1024usize);
    let w: Vec<f32> = (0..g * h).map(|i| ((i % 97) as f32) * 0.001).collect();
    let wt: Vec<f32> = (0..g * h).map(|i| ((i % 89) as f32) * 0.001).collect();
    for m in [16usize, 32, 64] {
        let x: Vec<f32> = (0..m * h).map(|i| ((i % 7) as f32) * 0.01).collect();
        let da: Vec<f32> = (0..m * g).map(|i| ((i % 7) as f32) * 0.01).collect();
        let mut c = vec![0f32; m * g];
        let mut dh = vec![0f32; m * h];
        for n in [128usize, 256, 512, 1024] {
            let flops = 2.0 * (m * n * h) as f64;
            let f1 =
                time(&mut || blas::gemm(Op::N, Op::N, m, n, h, 1.0, &x, h, &wt, g, 1.0, &mut c, g));
            let f2 =
                time(&mut || blas::gemm(Op::N, Op::T, m, n, h, 1.0, &x, h, &w, h, 1.0, &mut c, g));
            let nb = n / 4;
            let b1 = time(&mut || {
                blas::gemm(Op::N, Op::N, m, nb, g, 1.0, &da, g, &w, h, 1.0, &mut dh, h)
            });
            let bfl = 2.0 * (m * nb * g) as f64;
            println!(
                "m={m:3} n={n:4}: fwd NN {:.1} GF, fwd NT {:.1} GF | bwd n={nb} NN {:.1} GF",
                flops / f1 / 1e9,
                flops / f2 / 1e9,
                bfl / b1 / 1e9
            );
        }
    }
}
