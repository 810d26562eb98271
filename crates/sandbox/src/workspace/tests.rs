use std::os::unix::fs::symlink;

use super::*;

fn tree() -> (tempfile::TempDir, tempfile::TempDir, Beneath) {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "s").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    symlink(outside.path(), dir.path().join("out")).unwrap();
    symlink(outside.path().join("secret"), dir.path().join("secret")).unwrap();
    symlink("src", dir.path().join("inner")).unwrap();
    let fs = Beneath::open(dir.path()).unwrap();
    (outside, dir, fs)
}

fn invalid<T: std::fmt::Debug>(result: EditResult<T>) -> String {
    match result {
        Err(EditError::Invalid(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn lists_without_following_links() {
    let (_outside, _dir, fs) = tree();
    let listing = fs.list("", 100).unwrap();
    let names: Vec<_> = listing.entries.iter().map(|e| (e.name.as_str(), e.kind)).collect();
    assert_eq!(
        names,
        [
            ("src", EntryKind::Directory),
            ("inner", EntryKind::Symlink),
            ("out", EntryKind::Symlink),
            ("secret", EntryKind::Symlink)
        ]
    );
    assert_eq!(fs.list("src", 100).unwrap().entries[0].name, "main.rs");
    assert!(fs.list("", 2).unwrap().truncated);
    invalid(fs.list("out", 100));
    invalid(fs.list("inner", 100));
    invalid(fs.list("../", 100));
}

#[test]
fn reads_and_writes_only_regular_files_beneath_without_links() {
    let (outside, dir, fs) = tree();
    assert_eq!(fs.read("src/main.rs", 100).unwrap(), b"fn main() {}\n");
    fs.write("src/main.rs", b"changed", false).unwrap();
    assert_eq!(std::fs::read(dir.path().join("src/main.rs")).unwrap(), b"changed");
    fs.write("src/new.rs", b"new", false).unwrap();
    assert!(matches!(fs.write("src/new.rs", b"x", true), Err(EditError::Exists(_))));
    for bad in ["secret", "out/secret", "inner/main.rs", "/etc/passwd", "../x", "src/../../x"] {
        invalid(fs.read(bad, 100));
        invalid(fs.write(bad, b"pwned", false));
    }
    assert_eq!(std::fs::read(outside.path().join("secret")).unwrap(), b"s");
    assert!(!outside.path().join("x").exists());
    // A FIFO is refused at once rather than blocking, for reading and for writing.
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dir.path().join("pipe"),
        FileType::Fifo,
        Mode::from(0o644),
        0,
    )
    .unwrap();
    invalid(fs.read("pipe", 100));
    invalid(fs.write("pipe", b"x", false));
    invalid(fs.read("src", 100));
    invalid(fs.write("src", b"x", false));
    assert!(matches!(fs.read("src/main.rs", 3), Err(EditError::TooLarge { .. })));
    assert!(matches!(fs.read("missing", 3), Err(EditError::NotFound(_))));
    assert!(matches!(fs.write("nope/new", b"x", false), Err(EditError::NotFound(_))));
}

#[test]
fn folders_moves_copies_and_removals_stay_beneath() {
    let (outside, dir, fs) = tree();
    fs.create_dir("docs").unwrap();
    assert!(matches!(fs.create_dir("docs"), Err(EditError::Exists(_))));
    invalid(fs.create_dir("out/evil"));
    fs.rename("src/main.rs", "docs/main.rs").unwrap();
    assert!(dir.path().join("docs/main.rs").is_file());
    fs.copy("docs/main.rs", "docs/copy.rs", 100).unwrap();
    assert!(matches!(fs.copy("docs/main.rs", "docs/copy.rs", 100), Err(EditError::Exists(_))));
    assert!(matches!(fs.rename("docs/main.rs", "docs/copy.rs"), Err(EditError::Exists(_))));
    invalid(fs.rename("docs/main.rs", "out/main.rs"));
    invalid(fs.copy("secret", "stolen", 100));
    invalid(fs.rename("docs", "docs/inside"));
    // Removing a link removes the link, never what it points at.
    fs.remove("out").unwrap();
    fs.remove("secret").unwrap();
    assert!(outside.path().join("secret").exists());
    // A folder goes with everything in it, links inside included, and nothing they point at.
    symlink(outside.path(), dir.path().join("docs/link")).unwrap();
    fs.remove("docs").unwrap();
    assert!(!dir.path().join("docs").exists());
    assert!(outside.path().join("secret").exists());
    assert!(matches!(fs.remove("docs"), Err(EditError::NotFound(_))));
    invalid(fs.remove("inner/x"));
}

#[test]
fn what_the_host_creates_belongs_to_the_owner_of_the_root() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    // As root, the tree belongs to another uid, as a sandbox's does; otherwise it is ours.
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(dir.path(), Some(4242), Some(4242)).unwrap();
    }
    let owner = std::fs::metadata(dir.path()).unwrap().uid();
    let fs = Beneath::open(dir.path()).unwrap();
    fs.create_dir("made").unwrap();
    fs.write("made/new.txt", b"x", true).unwrap();
    fs.copy("made/new.txt", "copy.txt", 10).unwrap();
    for path in ["made", "made/new.txt", "copy.txt"] {
        assert_eq!(std::fs::metadata(dir.path().join(path)).unwrap().uid(), owner, "{path}");
    }
}
