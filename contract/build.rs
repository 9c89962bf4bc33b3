//! Rebuild when any contract file is added or changed: `include_dir!` alone
//! only notices changes to files it already embedded.
fn main() {
    println!("cargo:rerun-if-changed=../schemas");
}
