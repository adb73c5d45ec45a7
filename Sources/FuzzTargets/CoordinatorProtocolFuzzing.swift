import Coordinator
import Wire

/// The coordinator's state machine, fed a `ProtocolScript` from up to four peers, with the shell's part played
/// the way `CoordinatorServer` plays it: `.applyStep` is answered with `stepApplied`. The shell event (script op 6)
/// ends training after the epoch given by its argument (early stopping). A run of 2 epochs of 5 minibatches, 2 per
/// step, needing 2 ready workers.
///
/// Checked after every event: the version and the step never go backwards, the cursor stays in its epoch.
enum CoordinatorProtocolFuzzing {
    static let schedule = TrainingSchedule(epochs: 2, minibatchesPerEpoch: 5, minibatchesPerStep: 2)
    static let runId: UInt64 = 7

    static func run(_ input: [UInt8]) throws(FuzzFailure) { _ = try replay(input) }

    /// The machine after the whole script.
    static func replay(_ input: [UInt8]) throws(FuzzFailure) -> CoordinatorMachine<Int> {
        var machine = CoordinatorMachine<Int>(runId: runId, schedule: schedule, minimumWorkers: 2)
        var script = ProtocolScript(input)
        while let event = try script.next() {
            let before = machine.cursor
            var directives: [CoordinatorMachine<Int>.Directive]
            switch event.action {
            case let .message(message, peer, thenTick):
                directives = machine.received(message, from: peer, now: event.now)
                if thenTick { directives += machine.tick(now: event.now) }
            case .tick:
                directives = machine.tick(now: event.now)
            case let .shellEvent(argument):
                machine.endAfterEpoch(Int(argument % 4))
                directives = machine.tick(now: event.now)
            }
            // The shell applies each completed step, which starts the next one.
            var applied = 0
            while let k = directives.firstIndex(where: { if case .applyStep = $0 { true } else { false } }) {
                directives.removeSubrange(...k)
                directives += machine.stepApplied(now: event.now)
                applied += 1
                guard applied <= schedule.totalSteps else { throw FuzzFailure("more steps applied than the schedule has") }
            }
            let after = machine.cursor
            guard after.version >= before.version, after.step >= before.step else {
                throw FuzzFailure("cursor went backwards: \(before) → \(after)")
            }
            guard after.minibatch <= schedule.minibatchesPerEpoch, after.epoch <= schedule.epochs else {
                throw FuzzFailure("cursor left the schedule: \(after)")
            }
        }
        return machine
    }
}
