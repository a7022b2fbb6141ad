//! The graph holds no reference cycles: after many forward/backward
//! iterations every node is freed. (Its own test binary, so no other test's
//! graphs are alive while it counts.)

use ferrograd_autograd::{live_node_count, BackwardOptions, SavedTensor, Tensor};

#[test]
fn live_graph_nodes_return_to_zero_after_100k_iterations() {
    let baseline = live_node_count();
    let w = Tensor::from_slice(&[0.5f32, -0.25, 1.0, 2.0], &[4])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    for i in 0..100_000 {
        let h = &(&w * 1.0001) + 0.001;
        let y = (&h * &h).sum().unwrap();
        if i % 2 == 0 {
            y.backward().unwrap();
        } else {
            // Retained graphs are freed too, once their tensors go.
            y.backward_with_options(BackwardOptions {
                retain_graph: true,
                ..Default::default()
            })
            .unwrap();
        }
        w.zero_grad();
    }
    // A saved *output* (the kind that could form a cycle) is held weakly.
    let e = {
        let y = &w * 2.0;
        let saved = SavedTensor::output(&y);
        y.with_grad_fn("SelfSavingBackward", &[&w], &[&saved], {
            let saved = saved.clone();
            move |g| Ok(vec![Some(g.try_mul(&saved.unpack()?)?)])
        })
    };
    e.sum().unwrap().backward().unwrap();
    drop(e);
    drop(w);
    assert_eq!(live_node_count(), baseline);
}
