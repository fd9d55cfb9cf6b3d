//! (being written)

pub fn declare(_routes: &mut tinforge_gate::RestRoutes) {}
