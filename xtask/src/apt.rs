//! Debian packages the tasks need, installed where apt is available.

use std::process::Command;

/// Installs Debian's `package` where apt is available (updating the package lists once if the
/// first try fails); false where there is no apt or the install failed.
pub fn apt_install(package: &str, why: &str) -> bool {
    if Command::new("apt-get").arg("--version").output().is_err() {
        return false;
    }
    println!("xtask: {why} (Debian package {package})");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    install() || {
        let _ = Command::new("apt-get").args(["update", "-q"]).status();
        install()
    }
}
