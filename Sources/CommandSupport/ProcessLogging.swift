import Logging

/// The one place the executables configure logging: plain lines on standard error at the chosen level.
public enum ProcessLogging {
    /// The levels `--log-level` accepts, for its help and its error.
    public static let levelNames = "trace, debug, info, notice, warning, error"

    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
