import Wire
import Worker

/// The worker's state machine, fed a `ProtocolScript` (the peer bits are ignored: a worker has one peer). The
/// shell event (script op 6) is a tick: a worker's shell reports nothing back to its machine.
///
/// Checked after every event: nothing is done after the worker exited (a log line aside), and the version of the
/// STEPs it computes never goes back, except to the version of a WELCOME (a resumed coordinator's).
enum WorkerProtocolFuzzing {
    static func run(_ input: [UInt8]) throws(FuzzFailure) { _ = try replay(input) }

    /// The machine after the whole script, and every directive it gave.
    static func replay(_ input: [UInt8]) throws(FuzzFailure) -> (WorkerMachine, [WorkerDirective]) {
        var all: [WorkerDirective] = []
        var machine = WorkerMachine(incarnation: 1, name: "fuzz", now: 0)
        var computedVersion: UInt64 = 0
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
            case .shellEvent:
                directives = machine.tick(now: event.now)
            }
            for directive in directives {
                switch directive {
                case .configure:
                    // A WELCOME sets the version: a coordinator resumed from a checkpoint may go back.
                    computedVersion = machine.lastVersion
                case let .compute(step):
                    guard step.version >= computedVersion else {
                        throw FuzzFailure("computed STEP \(step.step) at version \(step.version) after version \(computedVersion)")
                    }
                    computedVersion = step.version
                default:
                    break
                }
            }
            if exitedBefore, directives.contains(where: { if case .note = $0 { false } else { true } }) {
                throw FuzzFailure("directives after the worker exited: \(directives)")
            }
            all += directives
        }
        return (machine, all)
    }
}
