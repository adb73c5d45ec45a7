import Kernels
import Replication
import RunSettings
import Wire
import Worker

/// The wire decoders: whole envelopes, every payload, and STEPs as a worker computes them.
enum WireFuzzing {
    /// The input is a list of frames (see `FuzzInput`), decoded as a received multipart message. Whatever decodes
    /// must re-encode to the same two frames.
    static func envelope(_ input: [UInt8]) throws(FuzzFailure) {
        let frames = FuzzInput.frames(input)
        if frames.count == 2 { _ = try? WireCodec.decodeHeader(frames[0], payload: frames[1]) }
        guard let envelope = try? WireCodec.decode(frames: frames) else { return }
        let again = WireCodec.encode(envelope)
        guard [again.header, again.payload] == frames else {
            throw FuzzFailure("\(envelope.message.name) does not re-encode to its frames")
        }
    }

    /// The first byte is the tag (so unknown tags are tried too), the rest the payload.
    static func message(_ input: [UInt8]) throws(FuzzFailure) {
        guard let tag = input.first else { return }
        _ = try WireCodec.fuzzDecode(tag: UInt16(tag), payload: Array(input.dropFirst()))
    }

    /// The spec the `step-rows` target checks STEPs against: 3 users, 4 items, dim 2, live negatives (two per
    /// minibatch, from the item table), the bilateral softmax.
    static let stepSpec = TrainingSpec(
        users: 3, items: 4, dim: 2,
        loss: LossSettings(kind: .bankInfoNCE, temperature: 0.5, negatives: 2, liveNegatives: true,
                           positiveTemperature: 0.7),
        sampler: .uniform, popularityAlpha: 0, seed: 7)

    /// Each frame of the input is a STEP payload; those that decode and pass the spec's rules are computed the way a
    /// worker computes them: every task either is refused for a row the STEP lacks, or gives a gradient of the
    /// spec's dim whose rows are the task's own (users; positives and negatives), each once, with finite values.
    static func stepRows(_ input: [UInt8]) throws(FuzzFailure) {
        guard let computer = try? TaskComputer(spec: stepSpec) else { throw FuzzFailure("the step-rows spec is unusable") }
        for payload in FuzzInput.frames(input) {
            guard let envelope = try WireCodec.fuzzDecode(tag: MessageTag.step.rawValue, payload: payload),
                  case let .step(step) = envelope.message,
                  stepSpec.refusal(of: step, within: InputLimits(maxPairsPerTask: 64, maxTasksPerStep: 8)) == nil
            else { continue }
            let rows = StepRows(step, dim: stepSpec.dim)
            for task in step.tasks {
                guard let g = try? computer.gradient(for: task, of: step, rows: rows, hash: 0) else { continue }
                let negatives = computer.negatives(for: task).ids
                let allowedItems = Set(task.items + negatives)
                guard g.users.dim == 2, g.items.dim == 2, Set(g.users.ids).isSubset(of: Set(task.users)),
                      Set(g.items.ids).isSubset(of: allowedItems), Set(g.users.ids).count == g.users.ids.count,
                      Set(g.items.ids).count == g.items.ids.count,
                      (g.users.values + g.items.values).allSatisfy(\.isFinite), g.lossSum.isFinite else {
                    throw FuzzFailure("task (\(task.epoch), \(task.minibatch)) gave gradient \(g)")
                }
            }
        }
    }
}
