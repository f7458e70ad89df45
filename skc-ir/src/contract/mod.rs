//! The contract between the reader and the backends: [`backend::Backend`]
//! and the [`backend::ItemSource`] it reads from, and the
//! [`plan::LinkPlan`] a backend hands back for the driver to run.

pub mod backend;
pub mod plan;
