// Module Coordinator.
