//! The module documentation's design tables name source files: each one must exist, so that
//! a newcomer following a table never lands on a file that moved.

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The file names in backquotes in the table rows of `text`'s inner doc comments.
fn named_files(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("//! |"))
        .flat_map(|row| row.split('`').skip(1).step_by(2).map(str::to_owned))
        .filter(|name| name.ends_with(".rs") || name.ends_with('/'))
        .filter(|name| !name.contains(' ') && !name.contains("::"))
        .collect()
}

#[test]
fn every_file_a_design_table_names_exists() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut checked = 0;
    let mut missing = Vec::new();
    for file in &files {
        let here = file.parent().unwrap();
        for name in named_files(&fs::read_to_string(file).unwrap()) {
            // Relative to the module's own folder, the folder above it, or `src/`.
            let exists = [here, here.parent().unwrap_or(here), src.as_path()]
                .iter()
                .any(|base| base.join(&name).exists());
            if !exists {
                missing.push(format!("{}: {name}", file.display()));
            }
            checked += 1;
        }
    }
    assert!(
        checked > 40,
        "only {checked} file names found in design tables"
    );
    assert!(missing.is_empty(), "named but missing: {missing:#?}");
}
