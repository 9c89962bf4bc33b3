//! Rebuild when a case or mutant file is added or changed: `include_dir!` alone only
//! notices files it already embedded.
fn main() {
    println!("cargo:rerun-if-changed=cases");
    println!("cargo:rerun-if-changed=../fixtures/mutants");
}
