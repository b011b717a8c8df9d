//! Which channel serves a request (priority tier, then weight), and keeping channels healthy (taking failing keys
//! out of rotation, probing them back in).

pub mod health;
pub mod probe;
pub mod selector;
pub mod upstream;
