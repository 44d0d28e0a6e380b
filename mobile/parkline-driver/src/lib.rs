//! `parkline-driver`: the driver app. Find parking near a destination with live free counts and the
//! planned stay's price, look at a facility, reserve, and pay for the stay so the exit opens.
//! [`model`] holds the view-models (talking to the server through `parkline-sdk`); [`screens`] renders them.

pub mod model;
pub mod platform;
pub mod route;
pub mod screens;
