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

    /// The device of this backend: for a GPU backend, the `index`-th of [`Backend::devices_found`]
    /// (the default adapter when `None`); an error saying which feature to build with, or which
    /// devices there are.
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
        let Some(index) = index.filter(|_| self != Self::Flex) else {
            return Ok(match self {
                #[cfg(feature = "flex")]
                Self::Flex => Device::flex(),
                #[cfg(feature = "wgpu")]
                Self::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
                #[cfg(feature = "cuda")]
                Self::Cuda => Device::cuda(0),
                #[cfg(feature = "rocm")]
                Self::Rocm => Device::rocm(0),
                #[allow(unreachable_patterns)]
                _ => unreachable!("checked by compiled()"),
            });
        };
        let found = self.devices_found();
        match found.get(index) {
            Some(device) => Ok(device.clone()),
            None => {
                let names: Vec<String> = found
                    .iter()
                    .enumerate()
                    .map(|(i, d)| format!("{i}: {d:?}"))
                    .collect();
                bail!(
                    "{self} has no device {index} on this machine; it has {}{}",
                    found.len(),
                    match names.is_empty() {
                        true => String::new(),
                        false => format!(" ({})", names.join(", ")),
                    }
                )
            }
        }
    }

    /// The devices of this backend on this machine, as burn enumerates them.
    #[cfg_attr(
        not(all(
            feature = "flex",
            any(feature = "wgpu", feature = "cuda", feature = "rocm")
        )),
        allow(unused_variables, unreachable_code)
    )]
    pub fn devices_found(self) -> Vec<Device> {
        use burn::tensor::DeviceType;
        let kind: DeviceType = match self {
            #[cfg(feature = "flex")]
            Self::Flex => return vec![Device::flex()],
            #[cfg(feature = "wgpu")]
            Self::Wgpu => DeviceType::Wgpu,
            #[cfg(feature = "cuda")]
            Self::Cuda => DeviceType::Cuda,
            #[cfg(feature = "rocm")]
            Self::Rocm => DeviceType::Rocm,
            #[allow(unreachable_patterns)]
            _ => return Vec::new(),
        };
        Device::enumerate(kind).into_iter().collect()
    }

    /// The devices `--devices` names for data-parallel training, the first the main one: each
    /// must exist and appear once, and more than one needs a GPU backend.
    pub fn data_parallel_devices(self, indices: &[usize]) -> Result<Vec<Device>> {
        if indices.is_empty() {
            bail!("--devices needs at least one device index, e.g. --devices 0,1");
        }
        if let Some(repeated) = indices
            .iter()
            .enumerate()
            .find_map(|(i, d)| indices[..i].contains(d).then_some(d))
        {
            bail!("--devices names device {repeated} twice");
        }
        if indices.len() > 1 && self == Self::Flex {
            bail!(
                "--devices {}: the flex CPU backend has one device and no data parallelism; \
                 split a batch over several GPUs with --backend wgpu, cuda or rocm",
                indices
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        indices.iter().map(|&i| self.device(Some(i))).collect()
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

/// Which convolution path the CPU backend has compiled in and which one runs.
pub fn convolution_status() -> String {
    use jeat_models::conv::{Path, compiled, onednn_version, path};
    let (running, why) = path();
    match (compiled(), onednn_version()) {
        (Path::OneDnn, Some((major, minor, patch))) => match running {
            Path::OneDnn => format!(
                "oneDNN {major}.{minor}.{patch} compiled in (feature `onednn`), in use; --precision bf16: {}",
                match jeat_models::conv::bf16_available() {
                    Ok(()) => "available on this CPU".to_string(),
                    Err(why) => format!("not available ({why})"),
                }
            ),
            other => format!(
                "oneDNN {major}.{minor}.{patch} compiled in (feature `onednn`), not in use ({}): {other}",
                why.unwrap_or_default()
            ),
        },
        (compiled, _) => format!(
            "{compiled} (oneDNN not compiled in: build with --features onednn, which needs oneDNN installed, e.g. libdnnl-dev)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_for_data_parallelism_must_exist_once_and_be_gpus() {
        let err = |backend: Backend, indices: &[usize]| {
            backend
                .data_parallel_devices(indices)
                .unwrap_err()
                .to_string()
        };
        assert!(err(Backend::Flex, &[0, 1]).contains("--backend wgpu, cuda or rocm"));
        assert!(err(Backend::Flex, &[1, 1]).contains("names device 1 twice"));
        assert!(err(Backend::Flex, &[]).contains("at least one device"));
        assert_eq!(Backend::Flex.data_parallel_devices(&[0]).unwrap().len(), 1);
        if Backend::Wgpu.compiled() {
            let found = Backend::Wgpu.devices_found().len();
            let message = err(Backend::Wgpu, &[found]);
            assert!(
                message.contains(&format!(
                    "no device {found} on this machine; it has {found}"
                )),
                "{message}"
            );
        }
    }

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
