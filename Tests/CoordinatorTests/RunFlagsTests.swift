import Coordinator
import Kernels
import RunSettings
import XCTest

/// `CoordinatorSettings.resolve`: the defaults, then a preset, then the flags, then the data's shape.
final class RunFlagsTests: XCTestCase {
    func testNoFlagsGiveTheDefaults() throws {
        let s = try CoordinatorSettings.resolve(RunFlags())
        XCTAssertEqual(s.bind, RunDefaults.bind)
        XCTAssertEqual(s.dim, RunDefaults.dim)
        XCTAssertEqual(s.epochs, RunDefaults.epochs)
        XCTAssertEqual(s.batchSize, RunDefaults.batchSize)
        XCTAssertEqual(s.seed, RunDefaults.seed)
        XCTAssertEqual(s.momentum, RunDefaults.momentum)
        XCTAssertEqual(s.optimizer.learningRate, RunDefaults.learningRate)
        XCTAssertEqual(s.optimizer.kind, .adam)
        XCTAssertEqual(s.loss, LossSettings())
        XCTAssertEqual(s.sampler, .uniform)
        XCTAssertEqual(s.minimumWorkers, 1)
    }

    func testPerLossRulesAndFlagsOverThePreset() throws {
        var flags = RunFlags()
        flags.loss = "mnr"
        let mnr = try CoordinatorSettings.resolve(flags)
        XCTAssertEqual(mnr.loss.temperature, 1, "MNR starts from τ 1")
        XCTAssertEqual(mnr.loss.similarity, .dot)
        flags.temperature = 0.3
        XCTAssertEqual(try CoordinatorSettings.resolve(flags).loss.temperature, 0.3, "a flag wins")

        var preset = RunFlags()
        preset.preset = "quality"
        preset.negatives = 64
        preset.spawnWorkers = 2
        let data = DataShape(users: 1000, items: 500, pairs: 20_000)
        let quality = try CoordinatorSettings.resolve(preset, data: data)
        XCTAssertEqual(quality.loss.negatives, 64, "the flag over the preset")
        XCTAssertTrue(quality.loss.liveNegatives, "the preset over the default")
        XCTAssertEqual(quality.minimumWorkers, 2, "--workers defaults to --spawn-workers")

        // Trained bank negatives read the bank: the preset's live negatives give way, unless named as well.
        preset.trainedBankNegatives = true
        let trained = try CoordinatorSettings.resolve(preset, data: data)
        XCTAssertTrue(trained.loss.trainedBankNegatives)
        XCTAssertFalse(trained.loss.liveNegatives)
        preset.liveNegatives = true
        XCTAssertThrowsError(try CoordinatorSettings.resolve(preset, data: data)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--trained-bank-negatives reads the negatives from the bank"), "\(error)")
        }

        // The preset's hard negatives stay with trained bank negatives, and give way when flags make the negatives
        // constant or change the loss.
        XCTAssertEqual(trained.loss.hardNegatives, 32)
        var constant = RunFlags()
        constant.preset = "quality"
        constant.liveNegatives = false
        let plain = try CoordinatorSettings.resolve(constant, data: data)
        XCTAssertEqual(plain.loss.hardNegatives, 0)
        XCTAssertEqual(plain.loss.hardNegativePool, 0)
        XCTAssertTrue(plain.problems().isEmpty, "\(plain.problems())")
        var ccl = RunFlags()
        ccl.preset = "quality"
        ccl.loss = "ccl"
        XCTAssertEqual(try CoordinatorSettings.resolve(ccl, data: data).loss.hardNegatives, 0)
        constant.hardNegatives = 8   // asked for by name: refused with its reason
        XCTAssertThrowsError(try CoordinatorSettings.resolve(constant, data: data)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--hard-negatives needs negatives that get gradients"), "\(error)")
        }

        // Hard negatives over the preset's live negatives, from a pool of the default size unless one is given;
        // a pool alone is refused.
        var hard = RunFlags()
        hard.preset = "quality"
        hard.hardNegatives = 16
        let mined = try CoordinatorSettings.resolve(hard, data: data)
        XCTAssertEqual(mined.loss.hardNegatives, 16)
        XCTAssertEqual(mined.loss.hardNegativePool, RunDefaults.hardNegativePool)
        XCTAssertTrue(mined.loss.liveNegatives)
        XCTAssertTrue(mined.loss.needsSeenItems)
        hard.hardNegativePool = 512
        hard.hardNegativeSkip = 4
        let skipping = try CoordinatorSettings.resolve(hard, data: data)
        XCTAssertEqual(skipping.loss.hardNegativePool, 512)
        XCTAssertEqual(skipping.loss.hardNegativeSkip, 4)
        var skipOnly = RunFlags()
        skipOnly.hardNegativeSkip = 2
        XCTAssertThrowsError(try CoordinatorSettings.resolve(skipOnly)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--hard-negative-skip sets which hard negatives are taken"), "\(error)")
        }
        var poolOnly = RunFlags()
        poolOnly.hardNegativePool = 512
        XCTAssertThrowsError(try CoordinatorSettings.resolve(poolOnly)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--hard-negative-pool sets where hard negatives are chosen"), "\(error)")
        }
    }

    func testAFlagThatCannotWorkIsOneSentence() {
        var flags = RunFlags()
        flags.loss = "softmax"
        XCTAssertThrowsError(try CoordinatorSettings.resolve(flags)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--loss must be one of"), "\(error)")
        }
        flags = RunFlags()
        flags.workers = 4
        flags.maxWorkers = 2
        XCTAssertThrowsError(try CoordinatorSettings.resolve(flags))
        flags = RunFlags()
        flags.learningRate = -1
        XCTAssertThrowsError(try CoordinatorSettings.resolve(flags)) { error in
            XCTAssertTrue("\(error)".contains("--lr must be positive"), "\(error)")
        }
    }

    func testEvaluationUsersTravelsAndIsValidated() throws {
        XCTAssertEqual(try CoordinatorSettings.resolve(RunFlags()).evaluationUsers, 0, "all test users by default")
        var flags = RunFlags()
        flags.evaluationUsers = 1000
        XCTAssertEqual(try CoordinatorSettings.resolve(flags).evaluationUsers, 1000)
        flags.evaluationUsers = -1
        XCTAssertThrowsError(try CoordinatorSettings.resolve(flags)) { error in
            XCTAssertEqual("\(error)", "--evaluation-users must be 0 (all test users) or more (got -1)")
        }
    }
}
