//! Rebuilds the crate when a migration changes: `embed_migrations!` reads `migrations/` at
//! compile time, and cargo does not otherwise notice a new migration directory.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
