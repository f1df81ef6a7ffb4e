//! One module per command, each with its clap arguments next to its code;
//! `args` holds the argument groups several commands share, `exchange` the
//! CMC client's HTTP exchange that `enroll`, `revoke` and `bench` use.

pub mod args;
pub mod audit;
pub mod backup;
pub mod bench;
pub mod bench_load;
pub mod ca;
pub mod ca_encryption;
pub mod ca_rollover;
pub mod cert;
pub mod client;
pub(crate) mod client_credential;
pub(crate) mod client_reissue;
pub mod cmp;
pub mod console;
pub mod crl;
pub mod encryption;
pub mod enroll;
pub(crate) mod exchange;
pub mod import;
pub mod pending;
pub mod profile;
pub mod renew;
pub(crate) mod renew_step;
pub mod request;
pub mod revoke;
pub mod secret;
pub mod show;
pub(crate) mod show_auth;
