import Dispatch
import Foundation
import Logging

/// SIGTERM and SIGINT as a request to stop cleanly (what `docker stop`, Slurm preemption and Kubernetes send first,
/// and Ctrl-C). The first signal sets a flag that the run loop reads between steps; a second one exits at once.
///
/// The signals are taken from the default disposition and delivered through `DispatchSource` on a queue of their
/// own: nothing runs in a signal handler.
public final class StopSignals: @unchecked Sendable {
    /// What the signal handlers share. It and the sources live as long as the process (`installed`), so that a
    /// second signal exits at once even while the process is already winding down.
    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var received: Int32?
    }

    private nonisolated(unsafe) static var installed: [DispatchSourceSignal] = []
    private static let installLock = NSLock()

    private let state = State()
    private let queue = DispatchQueue(label: "stop-signals")

    /// Starts listening for `signals`; `logger` says what a signal does.
    public init(signals: [Int32] = [SIGTERM, SIGINT], logger: Logger, firstSignalMeans: String) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            let state = state
            source.setEventHandler {
                // Signals that came before this handler ran are counted in `data`: two of them are two requests.
                let first = state.lock.withLock { state.received }
                if let earlier = first ?? (source.data > 1 ? number : nil) {
                    logger.warning("\(Self.name(number)) after \(Self.name(earlier)): exiting at once")
                    _exit(128 + number)
                }
                state.lock.withLock { state.received = number }
                logger.notice("\(Self.name(number)) received: \(firstSignalMeans) (send it again to exit at once)")
            }
            source.resume()
            Self.installLock.withLock { Self.installed.append(source) }
        }
    }

    /// The first signal received, if any.
    public var firstSignal: Int32? { state.lock.withLock { state.received } }

    /// The name of the first signal received (`SIGTERM`), nil while none has come.
    public var reason: String? { firstSignal.map(Self.name) }

    public static func name(_ number: Int32) -> String {
        switch number {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        case SIGUSR1: return "SIGUSR1"
        case SIGUSR2: return "SIGUSR2"
        default: return "signal \(number)"
        }
    }

    /// The shell command that started this process with `flag` added (when not there already), quoted for a POSIX
    /// shell: what to run to resume.
    public static func commandLine(adding flag: String, arguments: [String] = CommandLine.arguments) -> String {
        let all = arguments.contains(flag) ? arguments : arguments + [flag]
        return all.map(shellQuoted).joined(separator: " ")
    }

    static func shellQuoted(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@%+")
        if !word.isEmpty && word.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
