//! The reference algorithm (the original program replayed) against the engine: the same forward
//! pass, and to first order in the learning rate the same update as one engine gradient.

use crate::common;

use blasrnn::reference::Reference;
use common::{Lcg, synthetic_split};

#[test]
fn reference_forward_equals_the_engine_on_one_sequence() {
    let data = synthetic_split(5, 6, 4, 1);
    let mut r = Reference::new(7, 6, 4, 0.01, 3);
    // Non-zero classifier so that the probabilities depend on everything.
    let mut g = Lcg(9);
    r.params
        .iter_mut()
        .for_each(|p| *p += (g.next_f64() - 0.5) * 0.01);
    let mut ws = r.model.workspace(1, 6, false);
    let mut raw = data.clone();
    raw.norm = blasrnn::data::Norm::scaled(4, 1.0);
    for i in 0..data.len() {
        r.forward(data.bytes(i).unwrap(), data.labels[i]);
        raw.load_batch(&mut [i], &mut ws.batch);
        r.model.forward(&r.params, &mut ws, None);
        for (a, b) in r.probs().iter().zip(ws.probs(1, 10)) {
            assert!((a - b).abs() < 1e-12, "image {i}: {a} vs {b}");
        }
    }
}

#[test]
fn one_reference_image_is_a_gradient_step_to_first_order() {
    let data = synthetic_split(3, 5, 4, 2);
    let lr = 1e-7;
    let mut r = Reference::new(6, 5, 4, lr, 4);
    let mut g = Lcg(5);
    r.params
        .iter_mut()
        .for_each(|p| *p += (g.next_f64() - 0.5) * 0.02);
    // Small pixels keep the tanh units out of saturation, so every gradient is sizeable.
    let image: Vec<u8> = data.bytes(1).unwrap().iter().map(|p| p / 64).collect();
    let label = data.labels[1];
    let before = r.params.clone();

    let mut ws = r.model.workspace(1, 5, false);
    for (x, &p) in ws.batch.x.iter_mut().zip(&image) {
        *x = f64::from(p);
    }
    ws.batch.targets[0] = label;
    ws.batch.begin_full(1, 5);
    ws.grad.fill(0.0);
    r.model.forward(&before, &mut ws, None);
    r.model.backward(&before, &mut ws, 1.0);

    r.train_image(&image, label);
    for (spec, range) in r.model.layout().iter() {
        // β moves by lr·δ; every other parameter by (lr/100)·δ-weighted gradients.
        let scale = if spec.name == "classifier.bias" {
            lr
        } else {
            lr / 100.0
        };
        let (mut num, mut den) = (0.0, 0.0);
        for ((after, before), grad) in r.params[range.clone()]
            .iter()
            .zip(&before[range.clone()])
            .zip(&ws.grad[range])
        {
            let step = (after - before) / scale;
            let want = -grad;
            num += (step - want) * (step - want);
            den += want * want;
        }
        assert!(den > 0.0, "{}: zero gradient", spec.name);
        let rel = (num / den).sqrt();
        assert!(rel < 1e-4, "{}: relative difference {rel:e}", spec.name);
    }
}
