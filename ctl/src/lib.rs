//! rvswitch control library (see docs/architecture.md).
