//! The lower layer every gradient-based procedure of jeat stands on: attacks (FGSM, PGD, CW,
//! MIM, APGD), the inner maximisation of adversarial training, SGLD and the Santurkar generator
//! are all repeated gradient steps on a per-point loss of the input, followed by a projection.
//!
//! - [`steps`]: the engine, [`GradientSteps`], built by [`GradientSteps::projected`] (the PGD
//!   family: steepest steps for the ball's norm, projected on the ball ∩ [0, 1]) or
//!   [`GradientSteps::langevin`] (SGLD: raw gradient steps with Gaussian noise); the input
//!   gradient of a model ([`steps::gradient`]);
//! - [`threat`]: norms, threat models (`linf-8/255`), balls, projections, random starts;
//! - [`error`]: what can go wrong, each in one line.
//!
//! Images are `[B, C, H, W]`; models must be passed in inference mode (`model.valid()`).

pub mod error;
pub mod steps;
pub mod threat;

pub use error::EngineError;
pub use steps::{ChainEnd, Constraint, Direction, GradientSteps, StepRule, Visit};
pub use threat::{Ball, Norm, ThreatModel};
