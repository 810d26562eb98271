//! `drydock-sandbox-relay --listen ADDR --socket PATH -- COMMAND...`: the relay of brokered
//! sandboxes as a binary of its own (tests and benchmarks use it; the server runs
//! `drydock sandbox-relay`). See `drydock_sandbox::relay`.

fn main() {
    drydock_sandbox::relay::main(std::env::args_os().skip(1))
}
