//! Rebuild when a scenario or host-page file is added or changed:
//! `include_dir!` alone only notices files it already embedded.
fn main() {
    println!("cargo:rerun-if-changed=../scenarios");
    println!("cargo:rerun-if-changed=../fixtures/host");
    println!("cargo:rerun-if-changed=../fixtures/widget");
}
