//! The one place a concrete backend is chosen. Which backends exist depends on the cargo
//! features this binary was built with; which one runs is chosen at run time.

use anyhow::{Result, bail};
use burn::tensor::Device;

/// A compute backend by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Pure-Rust CPU (feature `flex`, on by default).
    #[value(alias = "cpu")]
    Flex,
    /// GPU through wgpu: Vulkan, Metal or DX12 (feature `wgpu`).
    Wgpu,
    /// NVIDIA GPU through CUDA (feature `cuda`).
    Cuda,
    /// AMD GPU through ROCm/HIP (feature `rocm`).
    Rocm,
}

impl Backend {
    /// Every backend, compiled in or not.
    pub const ALL: [Self; 4] = [Self::Flex, Self::Wgpu, Self::Cuda, Self::Rocm];

    /// The cargo feature that compiles this backend in.
    pub fn feature(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
            Self::Rocm => "rocm",
        }
    }

    /// Whether this binary was built with the backend.
    pub fn compiled(self) -> bool {
        match self {
            Self::Flex => cfg!(feature = "flex"),
            Self::Wgpu => cfg!(feature = "wgpu"),
            Self::Cuda => cfg!(feature = "cuda"),
            Self::Rocm => cfg!(feature = "rocm"),
        }
    }

    /// Whether the backend runs with burn's kernel fusion and autotuning (every GPU feature of
    /// this binary turns both on; the CPU backend has neither).
    pub fn fused_and_autotuned(self) -> bool {
        self != Self::Flex && self.compiled()
    }

    /// The device of this backend (GPU `index` for GPU backends: the default adapter when
    /// `None`), or an error saying which feature to build with.
    pub fn device(self, index: Option<usize>) -> Result<Device> {
        if !self.compiled() {
            bail!(
                "backend {} is not compiled into this binary; build with `--features {}` \
                 (or `cargo xtask --backend {}` …)",
                self.feature(),
                self.feature(),
                self.feature()
            );
        }
        if self == Self::Flex && index.is_some_and(|i| i > 0) {
            bail!("the flex CPU backend has one device (0); --device picks a GPU");
        }
        Ok(match self {
            #[cfg(feature = "flex")]
            Self::Flex => Device::flex(),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Device::wgpu(match index {
                None => burn::tensor::DeviceKind::DefaultDevice,
                Some(i) => burn::tensor::DeviceKind::DiscreteGpu(i),
            }),
            #[cfg(feature = "cuda")]
            Self::Cuda => Device::cuda(index.unwrap_or(0)),
            #[cfg(feature = "rocm")]
            Self::Rocm => Device::rocm(index.unwrap_or(0)),
            #[allow(unreachable_patterns)]
            _ => unreachable!("checked by compiled()"),
        })
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.feature())
    }
}

/// Whether the CPU backend's AVX-512 kernels are compiled in and this CPU can run them.
pub fn avx512_status() -> &'static str {
    let compiled = cfg!(feature = "avx512");
    #[cfg(target_arch = "x86_64")]
    let present = std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    let present = false;
    match (compiled, present) {
        (true, true) => "compiled in, in use (this CPU has AVX-512)",
        (true, false) => "compiled in, unused (this CPU lacks AVX-512)",
        (false, true) => "not compiled in (build with --features avx512 to use this CPU's AVX-512)",
        (false, false) => "not compiled in",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_that_is_not_compiled_in_names_its_feature() {
        for backend in Backend::ALL {
            match backend.device(None) {
                Ok(_) => assert!(backend.compiled()),
                Err(e) => {
                    assert!(!backend.compiled());
                    assert!(
                        e.to_string()
                            .contains(&format!("--features {}", backend.feature()))
                    );
                }
            }
        }
    }
}
