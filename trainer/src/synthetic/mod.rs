//! Synthetic demo data: the seeded generator (a stand-in for a shop's behaviour log, with a
//! known best achievable RMSE), its CSV writer and its MySQL bulk writer.

pub mod csv;
pub mod generator;
pub mod mysql;
pub mod order;
pub mod records;
