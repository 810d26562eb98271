//! Entry point for Trunk: mounts the Drydock app on `<body>`.

fn main() {
    // The host build exists only so that the pure logic can be unit tested natively.
    #[cfg(target_arch = "wasm32")]
    drydock_web::start();
}
