//! Placeholder until the node binding lands.
