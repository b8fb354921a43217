//! Module documentation names source files, in its design tables and in its prose: each one
//! must exist, so that a newcomer following a table never lands on a file that moved. Every
//! inner doc comment of the library, the tests, the examples and the benchmarks is read.

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

/// The file names in backquotes in `text`'s inner doc comments (`//!`), with whether the line
/// is a table row.
fn named_files(text: &str) -> Vec<(String, bool)> {
    text.lines()
        .filter_map(|line| line.trim_start().strip_prefix("//!"))
        .flat_map(|doc| {
            let row = doc.trim_start().starts_with('|');
            doc.split('`')
                .skip(1)
                .step_by(2)
                .map(move |name| (name.to_owned(), row))
        })
        .filter(|(name, _)| name.ends_with(".rs") || name.ends_with('/'))
        .filter(|(name, _)| !name.contains(' ') && !name.contains("::"))
        .collect()
}

#[test]
fn every_file_the_module_docs_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut checked = 0;
    let mut in_tables = 0;
    let mut missing = Vec::new();
    for top in ["src", "tests", "examples", "benches"] {
        let top = root.join(top);
        let mut files = Vec::new();
        sources(&top, &mut files);
        for file in &files {
            let here = file.parent().unwrap();
            for (name, row) in named_files(&fs::read_to_string(file).unwrap()) {
                // Relative to the module's own folder, the folder above it, `src/`, the
                // top folder (`tests/`, ...) or the crate.
                let bases = [here, here.parent().unwrap_or(here), &src, &top, root];
                if !bases.iter().any(|base| base.join(&name).exists()) {
                    missing.push(format!("{}: {name}", file.display()));
                }
                checked += 1;
                in_tables += usize::from(row);
            }
        }
    }
    assert!(
        in_tables > 40,
        "only {in_tables} file names found in design tables"
    );
    assert!(checked > in_tables, "no file named in prose: {checked}");
    assert!(missing.is_empty(), "named but missing: {missing:#?}");
}
