//! One module per command group.

pub(crate) mod bench;
pub(crate) mod ca;
pub(crate) mod cert;
pub(crate) mod client;
pub(crate) mod crl;
pub(crate) mod enroll;
pub(crate) mod pending;
pub(crate) mod profile;
pub(crate) mod secret;
pub(crate) mod show;
