//! Attacks on this front: see the module list in `hostile/mod.rs`.
