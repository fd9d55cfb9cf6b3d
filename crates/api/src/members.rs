//! REST members (being written).

use tinforge_gate::RestRoutes;

pub fn declare(_r: &mut RestRoutes) {}
