//! Threat models: a norm and a radius in [0, 1] pixel units, and what they imply: projection
//! onto the ball around a point intersected with the [0, 1] box, random starts, and the size of
//! a perturbation.

use crate::error::EngineError;
use burn::prelude::*;
use jeat_core::rng;

/// The norm perturbations are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Norm {
    /// Largest absolute pixel change.
    Linf,
    /// Euclidean length of the change.
    L2,
}

impl Norm {
    /// `linf` or `l2`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linf => "linf",
            Self::L2 => "l2",
        }
    }

    /// The norm of each point's vector: `[B, C, H, W]` → `[B]`.
    pub fn per_point(self, x: Tensor<4>) -> Tensor<1> {
        let [batch, ..] = x.dims();
        let flat: Tensor<2> = x.reshape([batch as i64, -1]);
        match self {
            Self::Linf => flat.abs().max_dim(1).squeeze_dim::<1>(1),
            Self::L2 => flat.powi_scalar(2).sum_dim(1).sqrt().squeeze_dim::<1>(1),
        }
    }
}

impl std::str::FromStr for Norm {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "linf" | "l-inf" | "inf" => Ok(Self::Linf),
            "l2" => Ok(Self::L2),
            _ => Err(EngineError::Invalid(format!(
                "unknown norm '{text}'; valid: linf, l2"
            ))),
        }
    }
}

/// A norm ball of radius `eps` around each clean point, inside the [0, 1] box.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThreatModel {
    /// The norm.
    pub norm: Norm,
    /// The radius, [0, 1] pixel units.
    pub eps: f64,
    /// The radius as the user wrote it (`8/255`), for protocol ids.
    pub eps_text: String,
}

impl ThreatModel {
    /// A threat model from a radius written as a decimal (`0.031`) or a fraction (`8/255`).
    pub fn parse(norm: Norm, eps: &str) -> Result<Self, EngineError> {
        let value = parse_eps(eps)?;
        check_eps(norm, value, eps)?;
        Ok(Self {
            norm,
            eps: value,
            eps_text: eps.trim().to_string(),
        })
    }

    /// A threat model from a number.
    pub fn new(norm: Norm, eps: f64) -> Result<Self, EngineError> {
        check_eps(norm, eps, &eps.to_string())?;
        Ok(Self {
            norm,
            eps,
            eps_text: format!("{eps}"),
        })
    }

    /// `linf-8/255`: the threat part of protocol ids.
    pub fn id(&self) -> String {
        format!("{}-{}", self.norm.name(), self.eps_text)
    }

    /// The ball of this threat model.
    pub fn ball(&self) -> Ball {
        Ball {
            norm: self.norm,
            radius: self.eps,
        }
    }

    /// Projection onto the ball around `center` ∩ the [0, 1] box (see [`Ball::project`]).
    pub fn project(&self, x: Tensor<4>, center: &Tensor<4>) -> Tensor<4> {
        self.ball().project(x, center).clamp(0.0, 1.0)
    }

    /// A random point of the ball around `center` (uniform per coordinate for Linf; a uniformly
    /// random direction at a uniformly random radius for L2), inside the box.
    pub fn random_start(&self, center: &Tensor<4>, seed: u64) -> Tensor<4> {
        let device = center.device().without_autodiff();
        let dims = center.dims();
        let delta = match self.norm {
            Norm::Linf => rng::uniform(dims, -self.eps, self.eps, seed, &device),
            Norm::L2 => {
                let direction = rng::normal(dims, 1.0, seed, &device);
                let norms = Norm::L2
                    .per_point(direction.clone())
                    .reshape([dims[0], 1, 1, 1]);
                let radius = rng::uniform(
                    [dims[0], 1, 1, 1],
                    0.0,
                    self.eps,
                    rng::derive(seed, &[1]),
                    &device,
                );
                direction / (norms + 1e-12) * radius
            }
        };
        (center.clone().without_autodiff() + delta).clamp(0.0, 1.0)
    }
}

/// A norm ball of any radius (the Santurkar generator uses an L2 ball of radius 30).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ball {
    /// The norm.
    pub norm: Norm,
    /// The radius.
    pub radius: f64,
}

impl Ball {
    /// The ball projection of `x` around `center` (clipping for Linf, radial scaling for L2),
    /// `[B, C, H, W]`. Clipping the result to a box that contains `center` afterwards moves no
    /// coordinate away from `center`, so it stays in the ball.
    pub fn project(&self, x: Tensor<4>, center: &Tensor<4>) -> Tensor<4> {
        let delta = x - center.clone();
        let delta = match self.norm {
            Norm::Linf => delta.clamp(-self.radius, self.radius),
            Norm::L2 => {
                let [batch, ..] = delta.dims();
                let norms = Norm::L2.per_point(delta.clone()).reshape([batch, 1, 1, 1]);
                let scale = (norms.clone().recip() * self.radius).clamp_max(1.0);
                // A zero perturbation has an infinite ratio: set to 1, it stays zero.
                delta * scale.mask_fill(norms.equal_elem(0.0), 1.0)
            }
        };
        center.clone() + delta
    }
}

/// `8/255` or `0.031` → the number; anything else, or a value that is not > 0, is an error.
pub fn parse_eps(text: &str) -> Result<f64, EngineError> {
    let trimmed = text.trim();
    let value = match trimmed.split_once('/') {
        Some((numerator, denominator)) => {
            let numerator: f64 = numerator.trim().parse().map_err(|_| malformed(text))?;
            let denominator: f64 = denominator.trim().parse().map_err(|_| malformed(text))?;
            numerator / denominator
        }
        None => trimmed.parse().map_err(|_| malformed(text))?,
    };
    if !(value.is_finite() && value > 0.0) {
        return Err(EngineError::Invalid(format!("eps must be > 0, got {text}")));
    }
    Ok(value)
}

/// Linf radii above 1 cover the whole [0, 1] pixel range and are refused; L2 radii of any size
/// are legitimate threat models (ImageNet's L2 3.0, or more on large images).
fn check_eps(norm: Norm, value: f64, text: &str) -> Result<(), EngineError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(EngineError::Invalid(format!("eps must be > 0, got {text}")));
    }
    if norm == Norm::Linf && value > 1.0 {
        return Err(EngineError::Invalid(format!(
            "Linf eps {text} = {value} is larger than the whole [0, 1] pixel range; eps is in [0, 1] pixel units (e.g. 8/255)"
        )));
    }
    Ok(())
}

fn malformed(text: &str) -> EngineError {
    EngineError::Invalid(format!(
        "malformed eps '{text}': write a number (0.031) or a fraction (8/255)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eps_parses_fractions_and_decimals_and_refuses_the_rest() {
        assert!((parse_eps("8/255").unwrap() - 8.0 / 255.0).abs() < 1e-15);
        assert_eq!(parse_eps(" 0.031 ").unwrap(), 0.031);
        for bad in ["0", "-0.1", "abc", "8/", "1/0", "nan"] {
            assert!(parse_eps(bad).is_err(), "{bad}");
        }
        // L2 radii above 1 are threat models (ImageNet L2 3.0); Linf ones are not.
        assert_eq!(ThreatModel::parse(Norm::L2, "3.0").unwrap().eps, 3.0);
        assert!(ThreatModel::parse(Norm::Linf, "2").is_err());
        assert!(ThreatModel::new(Norm::L2, 3.0).is_ok());
        assert!(
            parse_eps("0")
                .unwrap_err()
                .to_string()
                .contains("eps must be > 0")
        );
        assert_eq!(
            ThreatModel::parse(Norm::Linf, "8/255").unwrap().id(),
            "linf-8/255"
        );
    }
}
