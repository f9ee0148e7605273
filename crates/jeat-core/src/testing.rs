//! The device tests and benchmarks run on, chosen in one place: `JEAT_TEST_BACKEND=flex` (the
//! default) or `wgpu` (this crate built with its `wgpu` feature; on a machine without a GPU,
//! Mesa's software Vulkan driver, lavapipe, runs it). `cargo xtask test --backend wgpu` sets
//! both.

use burn::prelude::*;

/// The backends tests can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// The pure-Rust CPU backend.
    Flex,
    /// wgpu (Vulkan, Metal, DX12).
    Wgpu,
}

impl TestBackend {
    /// The backend `JEAT_TEST_BACKEND` names (`flex` when unset).
    ///
    /// # Panics
    /// On a name it does not know, or `wgpu` in a build without the `wgpu` feature: a test run
    /// on the wrong backend would pass for the wrong reason.
    pub fn from_env() -> Self {
        match std::env::var("JEAT_TEST_BACKEND").as_deref() {
            Err(_) | Ok("") | Ok("flex") => Self::Flex,
            Ok("wgpu") if cfg!(feature = "wgpu") => Self::Wgpu,
            Ok("wgpu") => panic!(
                "JEAT_TEST_BACKEND=wgpu, but the tests were built without jeat-core's `wgpu` feature: run `cargo xtask test --backend wgpu`"
            ),
            Ok(other) => panic!("JEAT_TEST_BACKEND={other}: valid values are flex and wgpu"),
        }
    }

    /// Whether results are bit for bit reproducible run to run (flex is; GPU reductions need
    /// not be, so exact-equality checks become tolerances there).
    pub fn deterministic(self) -> bool {
        self == Self::Flex
    }
}

/// The device of [`TestBackend::from_env`] (plain, without autodiff).
pub fn device() -> Device {
    match TestBackend::from_env() {
        TestBackend::Flex => Device::flex(),
        #[cfg(feature = "wgpu")]
        TestBackend::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        #[cfg(not(feature = "wgpu"))]
        TestBackend::Wgpu => unreachable!("refused by from_env"),
    }
}

/// The directory tests read real data from: `$JEAT_DATA`, else the workspace's `data/` (where
/// `cargo xtask fetch-data` and `cargo xtask test` put it).
pub fn data_root() -> std::path::PathBuf {
    std::env::var_os("JEAT_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data"))
}

/// Real data (or weights) a test needs: `found` when it is there; `None`, with a line saying
/// so, where the user opted out with `JEAT_SKIP_REAL_DATA`; otherwise the test fails with
/// `found`'s error, which says how to get it.
///
/// # Panics
/// When the data is missing and `JEAT_SKIP_REAL_DATA` is not set.
pub fn real_data<T, E: std::fmt::Display>(found: Result<T, E>, what: &str) -> Option<T> {
    match found {
        Ok(value) => Some(value),
        Err(_) if std::env::var_os("JEAT_SKIP_REAL_DATA").is_some() => {
            eprintln!("JEAT_SKIP_REAL_DATA is set: skipping a test that needs {what}");
            None
        }
        Err(e) => panic!("{e} (or set JEAT_SKIP_REAL_DATA=1 to skip tests on real data)"),
    }
}
