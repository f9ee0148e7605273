//! With the `link` feature, compiles the C++ shim against oneDNN and links `libdnnl`. oneDNN is found under
//! `$JEAT_ONEDNN_DIR` (a prefix with `include/` and `lib/`, such as an unpacked PyPI
//! `onednn-devel` + `onednn`), else in the system's include directories (Debian's
//! `libdnnl-dev`). A missing or unsupported oneDNN fails the build with one line saying what to
//! do.

use std::path::{Path, PathBuf};

/// The oneDNN major versions the shim's API calls are written for.
const SUPPORTED_MAJORS: [u32; 2] = [2, 3];

fn main() {
    println!("cargo::rerun-if-changed=shim/conv.cpp");
    if std::env::var_os("CARGO_FEATURE_LINK").is_none() {
        return;
    }
    println!("cargo::rerun-if-env-changed=JEAT_ONEDNN_DIR");
    let prefix = std::env::var_os("JEAT_ONEDNN_DIR").map(PathBuf::from);
    let include_dirs: Vec<PathBuf> = match &prefix {
        Some(prefix) => vec![prefix.join("include")],
        None => vec!["/usr/include".into(), "/usr/local/include".into()],
    };
    let Some(include) = include_dirs
        .iter()
        .find(|dir| dir.join("oneapi/dnnl/dnnl.hpp").is_file())
    else {
        println!(
            "cargo::error=the `onednn` feature needs oneDNN's headers and library and found none in {}: \
             `apt-get install libdnnl-dev` (Debian, Ubuntu), or set JEAT_ONEDNN_DIR to a prefix with include/ and lib/; \
             without the feature jeat builds its pure-Rust convolutions",
            include_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return;
    };
    let (major, minor) = version(include);
    if !SUPPORTED_MAJORS.contains(&major) {
        println!(
            "cargo::error=oneDNN {major}.{minor} found in {}; jeat's shim supports oneDNN 2.x (2.6 tested) and 3.x",
            include.display()
        );
        return;
    }
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .include(include)
        .file("shim/conv.cpp")
        .warnings(true)
        .compile("jeat_onednn_shim");
    if let Some(prefix) = &prefix {
        println!(
            "cargo::rustc-link-search=native={}",
            prefix.join("lib").display()
        );
    }
    println!("cargo::rustc-link-lib=dylib=dnnl");
    println!("cargo::metadata=version={major}.{minor}");
}

/// `DNNL_VERSION_MAJOR` and `_MINOR` of the headers in `include`.
fn version(include: &Path) -> (u32, u32) {
    let header =
        std::fs::read_to_string(include.join("oneapi/dnnl/dnnl_version.h")).unwrap_or_default();
    let number = |name: &str| {
        header
            .lines()
            .find_map(|line| line.trim().strip_prefix(&format!("#define {name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (number("DNNL_VERSION_MAJOR"), number("DNNL_VERSION_MINOR"))
}
