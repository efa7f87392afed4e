use std::time::Instant;
fn main() {
    for (r, c) in [(512usize, 128usize), (512, 28), (28, 128)] {
        let src: Vec<f32> = (0..r * c).map(|i| i as f32).collect();
        let mut dst = vec![0f32; r * c];
        for _ in 0..100 {
            blasrnn::blas::transpose(&src, r, c, &mut dst);
        }
        let t = Instant::now();
        for _ in 0..1000 {
            blasrnn::blas::transpose(std::hint::black_box(&src), r, c, &mut dst);
        }
        let dt = t.elapsed().as_secs_f64() / 1000.0;
        println!(
            "{r}x{c}: {:.1} us, {:.2} ns/elem",
            dt * 1e6,
            dt * 1e9 / (r * c) as f64
        );
    }
}
