//! oneDNN for the CPU convolutions: where its headers are (Debian's `libdnnl-dev`, or
//! `$JEAT_ONEDNN_DIR`), installed with apt where it is missing and apt is available, and then
//! `jeat-cli`'s `onednn` feature is part of every build xtask makes. `JEAT_ONEDNN=0` builds the
//! pure-Rust convolutions instead.

use crate::apt::apt_install;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Where oneDNN's C++ header is looked for: `$JEAT_ONEDNN_DIR/include`, else the system's.
fn header_dirs() -> Vec<PathBuf> {
    match std::env::var_os("JEAT_ONEDNN_DIR") {
        Some(prefix) => vec![PathBuf::from(prefix).join("include")],
        None => vec!["/usr/include".into(), "/usr/local/include".into()],
    }
}

fn present() -> bool {
    header_dirs()
        .iter()
        .any(|dir| dir.join("oneapi/dnnl/dnnl.hpp").is_file())
}

/// Whether builds link oneDNN: it is there (installed now if need be, once per xtask run) and not
/// opted out of. Says once why not where it is not.
pub fn in_use() -> bool {
    static IN_USE: OnceLock<bool> = OnceLock::new();
    *IN_USE.get_or_init(|| {
        if std::env::var_os("JEAT_ONEDNN").is_some_and(|v| v == "0") {
            println!("xtask: JEAT_ONEDNN=0: building the pure-Rust convolutions");
            return false;
        }
        if present() || (apt_install("libdnnl-dev", "oneDNN for the CPU convolutions") && present())
        {
            return true;
        }
        println!(
            "xtask: oneDNN not found ({}): building the pure-Rust convolutions; \
             `apt-get install libdnnl-dev` or JEAT_ONEDNN_DIR=<prefix> gives the faster ones",
            header_dirs()
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        false
    })
}
