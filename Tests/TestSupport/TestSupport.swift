// Test doubles and helpers shared by the test targets: `InMemoryNetwork` (the coordinator's and workers'
// transports in one process), `ManualClock`, golden files, seeded bytes, wire samples, the process harness of the
// integration tests, network namespaces, and reading `docs/`.
