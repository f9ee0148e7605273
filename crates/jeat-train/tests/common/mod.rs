//! What the training tests share: a model's floats by name, and the comparison of two runs'
//! weights.

#![allow(dead_code)]

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use jeat_models::Model;

/// Every float of `model` in inference mode (parameters, then running statistics where there are
/// any), with the dotted path of the module it belongs to, in visiting order.
pub fn named_tensors(model: &Model) -> Vec<(String, Vec<f32>)> {
    struct Collect {
        path: Vec<String>,
        values: Vec<(String, Vec<f32>)>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param
                .val()
                .into_data()
                .convert::<f32>()
                .try_to_vec()
                .unwrap();
            self.values.push((self.path.join("."), values));
        }
    }
    let mut collect = Collect {
        path: Vec::new(),
        values: Vec::new(),
    };
    model.valid().visit(&mut collect);
    collect.values
}

/// The largest absolute difference between two lists of [`named_tensors`].
pub fn max_difference(a: &[(String, Vec<f32>)], b: &[(String, Vec<f32>)]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|((_, x), (_, y))| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

/// Two runs that must reach the same weights did: bit for bit on the deterministic CPU backend,
/// within 1e-3 on a GPU backend (whose reductions may be ordered differently run to run).
pub fn assert_same_weights(difference: f32, what: &str) {
    let tolerance = match jeat_core::testing::TestBackend::from_env().deterministic() {
        true => 0.0,
        false => 1e-3,
    };
    assert!(
        difference <= tolerance,
        "{what}: the weights differ by up to {difference} (tolerance {tolerance})"
    );
}
