//! The part of `xtask` the tests share: building the plugins and laying
//! out the directories berth serves ([`plugins`]). The tests' helper crate
//! (`tests/kit`) depends on this library, so there is one copy of it.

pub mod plugins;
