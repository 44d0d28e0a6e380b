//! The Parkline admin console's Rust side. The window (`ui/`, plain HTML and JavaScript shipped with the
//! app) calls Tauri commands; each is a thin wrapper in `main.rs` over [`console::Console`], the command
//! layer, which talks to the server only through `parkline-sdk`. Everything drawn from data (floor
//! maps, charts) is made here, in Rust, so it is tested without a window.

pub mod board;
pub mod charts;
pub mod config;
pub mod console;
pub mod demand;
pub mod error;
pub mod floor_map;
pub mod rates;

pub use console::Console;
pub use error::CommandError;
