//! Version 1 of the API, one module per resource.

pub mod admin;
pub mod auth;
pub mod facilities;
pub mod gates;
pub mod open_data;
pub mod partners;
pub mod payments;
pub mod permits;
pub mod pricing;
pub mod reservations;
pub mod sensors;
pub mod stream;
pub mod validations;
pub mod webhooks;
