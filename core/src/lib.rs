//! fasttrack-core: the domain (pure values and rules), the settings and the storage.
//!
//! `domain` has no IO at all: it parses what users send, owns the application
//! state machine and the role matrix, and is where most unit tests live.
//! `store` is the only module that speaks SQL; `settings` is the only one that
//! reads configuration.

pub mod clock;
pub mod domain;
pub mod settings;
pub mod store;

pub use clock::Clock;
pub use domain::*;
