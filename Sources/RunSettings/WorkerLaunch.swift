/// A worker's command line as the coordinator writes it when it starts workers on its own machine
/// (`--spawn-workers`). The worker command declares its flags with these names, so the two cannot drift apart.
public struct WorkerLaunch: Sendable, Equatable {
    /// The flags' names, without the leading `--`.
    public enum Flag {
        public static let coordinator = "coordinator"
        public static let name = "name"
        public static let exitWithParent = "exit-with-parent"
        public static let logLevel = "log-level"
        public static let blas = "blas"
    }

    /// The coordinator's endpoint.
    public var coordinator: String
    /// The worker's name in logs.
    public var name: String
    /// The worker exits when the process that started it exits.
    public var exitWithParent = true
    /// nil: the worker's default.
    public var logLevel: String?
    /// The OpenBLAS build; nil: the worker's default.
    public var blas: String?

    public init(coordinator: String, name: String, exitWithParent: Bool = true, logLevel: String? = nil,
                blas: String? = nil) {
        self.coordinator = coordinator
        self.name = name
        self.exitWithParent = exitWithParent
        self.logLevel = logLevel
        self.blas = blas
    }

    /// The arguments of the `worker` executable.
    public var arguments: [String] {
        var out = ["--" + Flag.coordinator, coordinator, "--" + Flag.name, name]
        if exitWithParent { out.append("--" + Flag.exitWithParent) }
        if let logLevel { out += ["--" + Flag.logLevel, logLevel] }
        if let blas { out += ["--" + Flag.blas, blas] }
        return out
    }
}
