//! Integration tests: the real application on port 0, on both backends.
//! One test binary, a module per feature (zero-to-production's layout).

mod applicants;
mod applications;
mod browser;
mod centres;
mod cli;
mod ddat;
mod emails;
mod faults;
mod hardening;
mod harness;
mod helpers;
mod hr_pages;
mod metrics;
mod offers;
mod ops;
mod pages;
mod personal;
mod processes;
mod roles;
mod schemes;
mod sift;
mod smtp;
mod staff;
mod surveys;
