import Wire
import Worker

/// The worker's state machine, fed a `ProtocolScript` (the peer bits are ignored: a worker has one peer), with the
/// shell's part played the way `WorkerClient` plays it: the last chunk of a snapshot (chunk index = count − 1)
/// completes the load with `snapshotLoaded`. The shell event (script op 6) reports a completed snapshot at the
/// version the worker is loading, or, for an odd argument, at a version it is not.
///
/// Checked after every event: nothing is done after the worker exited (a log line aside).
enum WorkerProtocolFuzzing {
    static func run(_ input: [UInt8]) throws(FuzzFailure) { _ = try replay(input) }

    /// The machine after the whole script, and every directive it gave.
    static func replay(_ input: [UInt8]) throws(FuzzFailure) -> (WorkerMachine, [WorkerDirective]) {
        var all: [WorkerDirective] = []
        var machine = WorkerMachine(incarnation: 1, name: "fuzz", now: 0)
        var script = ProtocolScript(input)
        while let event = try script.next() {
            let exitedBefore = machine.phase == .exited
            var directives: [WorkerDirective]
            switch event.action {
            case let .message(message, _, thenTick):
                directives = machine.received(message, now: event.now)
                if thenTick { directives += machine.tick(now: event.now) }
            case .tick:
                directives = machine.tick(now: event.now)
            case let .shellEvent(argument):
                let loading: UInt64 = if case let .loading(version) = machine.phase { version } else { 0 }
                directives = machine.snapshotLoaded(version: loading &+ UInt64(argument & 1), now: event.now)
            }
            var k = 0
            while k < directives.count {
                if case let .storeSnapshotChunk(chunk) = directives[k], chunk.chunkIndex == chunk.chunkCount - 1 {
                    directives += machine.snapshotLoaded(version: chunk.version, now: event.now)
                }
                k += 1
            }
            if exitedBefore, directives.contains(where: { if case .note = $0 { false } else { true } }) {
                throw FuzzFailure("directives after the worker exited: \(directives)")
            }
            all += directives
        }
        return (machine, all)
    }
}
