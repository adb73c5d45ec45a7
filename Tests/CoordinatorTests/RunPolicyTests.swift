@testable import Coordinator
import Dataset
import XCTest

/// The run policy without a socket, a process or a clock: events in, directives out.
final class RunPolicyTests: XCTestCase {
    /// 4 minibatches per epoch of 1 interaction each: the expected audit is that of 4 interactions.
    func policy(epochs: Int = 10, patience: Int = 0, timeLimit: Double? = nil, checkpointEvery: Int = 0,
                recorded: [EpochResult] = []) -> RunPolicy {
        RunPolicy(rules: .init(epochs: epochs, patience: patience, timeLimit: timeLimit,
                               checkpointEverySteps: checkpointEvery, minibatchesPerEpoch: 4),
                  expectedAudit: EpochAudit.expected(for: 4), recorded: recorded, now: 0)
    }

    func evaluated(_ epoch: Int, validation: Double) -> EpochResult {
        var r = EpochResult(epoch: epoch, meanLoss: 1, examples: 4, trainSeconds: 1, auditExact: true,
                            audit: EpochAudit.expected(for: 4), metrics: [RankingMetrics(k: 20, recall: 0.1, ndcg: 0.1, users: 1)],
                            evaluationSeconds: 0)
        r.validationMetrics = [RankingMetrics(k: 20, recall: validation, ndcg: validation, users: 1)]
        return r
    }

    /// Applies one whole epoch (4 steps of one minibatch) and returns the directives of its end.
    func trainEpoch(_ p: inout RunPolicy, epoch: Int, at time: Double) -> [RunDirective] {
        var out: [RunDirective] = []
        for m in 0 ..< 4 {
            p.stepSent(now: time)
            p.minibatchApplied(interactions: [UInt32(m)], lossSum: 2, examples: 1)
            out += p.stepApplied(cursor: TrainingCursor(step: UInt64(epoch * 4 + m + 1), version: UInt64(epoch * 4 + m),
                                                        epoch: epoch, minibatch: m + 1),
                                 version: UInt64(epoch * 4 + m + 1), now: time)
        }
        return out + p.epochFinished(epoch, now: time + 1)
    }

    /// `--eval-every 3` over 7 epochs: epochs 3 and 6 and the last (7) are evaluated; the others are recorded with
    /// their training figures only. A time limit that ends training makes the epoch it ends the last, evaluated.
    func testEpochsBetweenEvaluationsAreRecordedWithoutMetricsAndTheLastIsAlwaysEvaluated() {
        func kinds(_ directives: [RunDirective]) -> [String] {
            directives.compactMap {
                switch $0 {
                case .evaluate: "evaluate"
                case .record: "record"
                default: nil
                }
            }
        }
        var p = RunPolicy(rules: .init(epochs: 7, minibatchesPerEpoch: 4, evaluateEvery: 3),
                          expectedAudit: EpochAudit.expected(for: 4), now: 0)
        let ends = (0 ..< 7).map { kinds(trainEpoch(&p, epoch: $0, at: Double($0 * 10))) }
        XCTAssertEqual(ends, [["record"], ["record"], ["evaluate"], ["record"], ["record"], ["evaluate"], ["evaluate"]])
        guard case let .record(result) = trainEpochRecorded(every: 3, epochs: 7) else { return XCTFail("not recorded") }
        XCTAssertEqual(result.metrics, [])
        XCTAssertTrue(result.auditExact)
        XCTAssertEqual(result.examples, 4)

        var limited = RunPolicy(rules: .init(epochs: 7, timeLimit: 15, minibatchesPerEpoch: 4, evaluateEvery: 3),
                                expectedAudit: EpochAudit.expected(for: 4), now: 0)
        XCTAssertEqual(kinds(trainEpoch(&limited, epoch: 0, at: 0)), ["record"])
        XCTAssertEqual(kinds(trainEpoch(&limited, epoch: 1, at: 20)), ["evaluate"], "the time limit made epoch 2 the last")

        var stopped = RunPolicy(rules: .init(epochs: 7, minibatchesPerEpoch: 4, evaluateEvery: 3),
                                expectedAudit: EpochAudit.expected(for: 4), now: 0)
        stopped.trainingFinished()
        XCTAssertEqual(kinds(trainEpoch(&stopped, epoch: 0, at: 0)), ["evaluate"], "a run stopping after this epoch")
    }

    /// The directive that ends epoch 1 of a fresh policy evaluating every `every` epochs.
    func trainEpochRecorded(every: Int, epochs: Int) -> RunDirective? {
        var p = RunPolicy(rules: .init(epochs: epochs, minibatchesPerEpoch: 4, evaluateEvery: every),
                          expectedAudit: EpochAudit.expected(for: 4), now: 0)
        return trainEpoch(&p, epoch: 0, at: 0).last
    }

    /// Where the decision to stop early is made: after `patience` evaluated epochs without a better validation
    /// score, training ends with the epoch in progress, once.
    func testEarlyStoppingEndsTheEpochInProgressAfterPatienceEpochsWithoutImprovement() {
        var p = policy(patience: 2)
        XCTAssertEqual(p.evaluated(evaluated(0, validation: 0.3), epochInProgress: 1), [.keepBest(epoch: 0)])
        XCTAssertEqual(p.evaluated(evaluated(1, validation: 0.2), epochInProgress: 2), [])
        XCTAssertEqual(p.evaluated(evaluated(2, validation: 0.25), epochInProgress: 3), [
            .endAfterEpoch(3),
            .announce(.earlyStop(epochsWithoutImprovement: 2, bestEpoch: 1, afterEpoch: 4)),
        ])
        XCTAssertTrue(p.stoppedEarly)
        XCTAssertEqual(p.lastEpoch, 4)
        XCTAssertEqual(p.evaluated(evaluated(3, validation: 0.1), epochInProgress: 3), [], "decided once")
        XCTAssertEqual(p.selection.byValidation?.epoch, 1)
    }

    func testNoEarlyStopOnceTrainingHasFinishedOrWithoutPatience() {
        var finished = policy(patience: 1)
        _ = finished.evaluated(evaluated(0, validation: 0.3), epochInProgress: 1)
        finished.trainingFinished()
        XCTAssertEqual(finished.evaluated(evaluated(1, validation: 0.1), epochInProgress: 1), [])
        XCTAssertFalse(finished.stoppedEarly)
        var never = policy(patience: 0)
        for e in 0 ..< 5 { _ = never.evaluated(evaluated(e, validation: 0.3 - Double(e) * 0.01), epochInProgress: e + 1) }
        XCTAssertFalse(never.stoppedEarly)
    }

    func testTheTimeLimitCountsFromTheFirstStepAndEndsTheEpochInProgress() {
        var p = policy(timeLimit: 10)
        XCTAssertEqual(p.stepApplied(cursor: TrainingCursor(step: 1, epoch: 0, minibatch: 1), version: 1, now: 50), [],
                       "no STEP went out yet: waiting for workers is not training")
        p.stepSent(now: 100)
        XCTAssertEqual(p.stepApplied(cursor: TrainingCursor(step: 2, epoch: 0, minibatch: 2), version: 2, now: 109.9), [])
        XCTAssertEqual(p.stepApplied(cursor: TrainingCursor(step: 3, epoch: 0, minibatch: 3), version: 3, now: 110), [
            .endAfterEpoch(0), .announce(.timeLimit(seconds: 10, afterEpoch: 1)),
        ])
        XCTAssertTrue(p.timeLimitReached)
        XCTAssertFalse(p.stoppedEarly, "a time limit is not early stopping")
        XCTAssertEqual(p.stepApplied(cursor: TrainingCursor(step: 4, epoch: 0, minibatch: 4), version: 4, now: 200),
                       [.checkpoint(resumeAt: TrainingCursor(step: 5, version: 4, epoch: 0, minibatch: 4))],
                       "said once; the epoch's end still checkpoints")
    }

    func testCheckpointsAtEpochEndsAndEveryNSteps() {
        var p = policy(checkpointEvery: 3)
        let directives = trainEpoch(&p, epoch: 0, at: 5)
        let checkpoints = directives.compactMap { d -> TrainingCursor? in
            if case let .checkpoint(c) = d { return c } else { return nil }
        }
        XCTAssertEqual(checkpoints, [TrainingCursor(step: 4, version: 3, epoch: 0, minibatch: 3),
                                     TrainingCursor(step: 5, version: 4, epoch: 0, minibatch: 4)])
    }

    func testAnEpochEndIsAuditedAndEvaluatedWithItsTrainingFigures() {
        var p = policy()
        let directives = trainEpoch(&p, epoch: 0, at: 5)
        guard case let .evaluate(result)? = directives.last else { return XCTFail("no evaluation: \(directives)") }
        XCTAssertTrue(result.auditExact)
        XCTAssertEqual(result.examples, 4)
        XCTAssertEqual(result.meanLoss, 2)
        XCTAssertEqual(result.trainSeconds, 1, "from the first STEP to the epoch's end")
        XCTAssertEqual(p.epochLoss.examples, 0, "the next epoch counts afresh")

        var short = policy()
        short.minibatchApplied(interactions: [0, 1, 2], lossSum: 1, examples: 3)
        let mismatch = short.epochFinished(0, now: 1)
        XCTAssertEqual(mismatch.first, .announce(.auditMismatch(epoch: 0, applied: 3, expected: 4)))
        guard case let .evaluate(inexact)? = mismatch.last else { return XCTFail("no evaluation") }
        XCTAssertFalse(inexact.auditExact)
    }

    func testAResumedRunDoesNotEvaluateAnEpochItsMetricsAlreadyHold() {
        var p = policy(recorded: [evaluated(0, validation: 0.3)])
        XCTAssertEqual(p.started(at: TrainingCursor(step: 5, version: 4, epoch: 0, minibatch: 4), now: 0), [])
        XCTAssertEqual(p.epochFinished(0, now: 1), [])
    }

    func testAnEpochWithoutRecordedFiguresIsEvaluatedFromItsCheckpointOnResume() {
        var p = policy(recorded: [evaluated(0, validation: 0.3)])
        // Resumed in the middle of epoch 4 (0-based 3): epochs 2 and 3 ended before the restart without recorded
        // figures; only epoch 3's end checkpoint is still kept.
        let directives = p.started(at: TrainingCursor(step: 15, version: 14, epoch: 3, minibatch: 2), now: 0,
                                   available: { $0 == 2 })
        XCTAssertEqual(directives, [.announce(.epochFiguresLost(epoch: 1)), .evaluateFromCheckpoint(epoch: 2)])
        var atEnd = policy()
        XCTAssertEqual(atEnd.started(at: TrainingCursor(step: 5, version: 4, epoch: 0, minibatch: 4), now: 0,
                                     available: { _ in true }),
                       [.evaluateFromCheckpoint(epoch: 0)])
        XCTAssertEqual(atEnd.epochFinished(0, now: 1), [], "being evaluated from its checkpoint already")
        let recovered = atEnd.recoveredResult(epoch: 0, audit: EpochAudit.expected(for: 4))
        XCTAssertTrue(recovered.recovered && recovered.auditExact)
        _ = atEnd.evaluated(recovered, epochInProgress: 1)
        XCTAssertEqual(atEnd.selection.lastEpoch, 1)
        XCTAssertTrue(atEnd.recovering.isEmpty)

        var lost = policy()
        XCTAssertEqual(lost.started(at: TrainingCursor(step: 7, version: 6, epoch: 1, minibatch: 2), now: 0),
                       [.announce(.epochFiguresLost(epoch: 0))])
    }

    func testAResumedRunWhoseMetricsSaidStopEndsWithTheEpochInProgress() {
        var p = policy(patience: 1, recorded: [evaluated(0, validation: 0.3), evaluated(1, validation: 0.2)])
        XCTAssertEqual(p.started(at: TrainingCursor(step: 10, version: 9, epoch: 2, minibatch: 1), now: 0), [
            .endAfterEpoch(2), .announce(.stoppedBeforeRestart(epochsWithoutImprovement: 1)),
        ])
        XCTAssertTrue(p.stoppedEarly)
    }
}
