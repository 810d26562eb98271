//! Building one file's diff from its old and new bytes.

use shared::changes::FileDiff;

const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "gif", "webp", "bmp", "ico", "svg"];

pub(crate) fn is_image(path: &str) -> bool {
    path.rsplit_once('.')
        .is_some_and(|(_, ext)| IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

pub(crate) fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|b| *b == 0) || std::str::from_utf8(bytes).is_err()
}

/// The diff of one file from its old and new bytes (either absent): binary and image files
/// flagged, text as a unified diff. Shared by the branch's and the live tree's diffs.
pub(crate) fn file_diff_of(path: String, old: Option<Vec<u8>>, new: Option<Vec<u8>>) -> FileDiff {
    let binary = old.as_deref().is_some_and(is_binary) || new.as_deref().is_some_and(is_binary);
    let text = |b: Option<Vec<u8>>| {
        if binary {
            None
        } else {
            b.map(|b| String::from_utf8_lossy(&b).into_owned())
        }
    };
    let (old_content, new_content) = (text(old), text(new));
    let patch = (!binary).then(|| {
        unified(&path, old_content.as_deref().unwrap_or(""), new_content.as_deref().unwrap_or(""))
    });
    FileDiff { image: is_image(&path), path, old_content, new_content, patch, binary }
}

/// A unified diff of two texts, with three lines of context.
fn unified(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}
