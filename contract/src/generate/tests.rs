//! The generated schemas follow the catalogue, and the files on disk are what the generator writes.

use super::*;
use std::path::Path;

/// The checked-in generated schemas equal what the catalogue produces.
/// With JODO_UPDATE_SCHEMAS=1 the files are rewritten instead.
#[test]
fn generated_schemas_are_up_to_date() {
    let catalog = Catalog::embedded().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let update = std::env::var_os("JODO_UPDATE_SCHEMAS").is_some();
    let generated = all(&catalog);
    if update {
        for dir in GENERATED_DIRS {
            let _ = std::fs::remove_dir_all(root.join(dir));
        }
    }
    let mut stale = Vec::new();
    for (path, doc) in &generated {
        let file = root.join(path);
        let text = render(path, doc);
        if update {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, text).unwrap();
        } else if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.clone());
        }
    }
    for dir in GENERATED_DIRS {
        for entry in std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = format!("{dir}/{}", entry.file_name().to_string_lossy());
            if !generated.iter().any(|(p, _)| *p == path) {
                stale.push(format!("{path} (no catalogue entry)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated schemas are stale; run `JODO_UPDATE_SCHEMAS=1 cargo test -p jodo-contract` and commit:\n{}",
        stale.join("\n")
    );
}
