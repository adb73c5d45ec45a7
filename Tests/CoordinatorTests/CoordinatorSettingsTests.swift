import Coordinator
import Kernels
import Transport
import XCTest

final class CoordinatorSettingsTests: XCTestCase {
    func testDefaultsHaveNoProblems() {
        XCTAssertEqual(CoordinatorSettings().problems(), [])
    }

    /// Limits that are allowed exactly.
    func testBoundaryValuesAreAccepted() {
        var s = CoordinatorSettings()
        s.dim = 4096
        s.loss.negatives = 1 << 20
        s.momentum = 0
        s.optimizer.weightDecay = 0
        s.minibatchSize = s.batchSize
        s.epochs = 1
        s.checkpointEverySteps = 0
        s.evaluationKs = [1]
        XCTAssertEqual(s.problems(), [])
        s.dim = 1
        s.loss.negatives = 1
        s.minibatchSize = 1
        XCTAssertEqual(s.problems(), [])
    }

    /// Each bad value alone gives exactly one problem, naming its flag and the value.
    func testEachBadValueIsNamed() {
        let cases: [(String, (inout CoordinatorSettings) -> Void, String)] = [
            ("--epochs", { $0.epochs = 0 }, "0"),
            ("--dim", { $0.dim = 0 }, "0"),
            ("--dim", { $0.dim = 4097 }, "4097"),
            ("--batch-size", { $0.batchSize = 0 }, "0"),
            ("--minibatch-size", { $0.minibatchSize = 0 }, "0"),
            ("--minibatch-size", { $0.batchSize = 100; $0.minibatchSize = 101 }, "101"),
            ("--workers", { $0.minimumWorkers = 0 }, "0"),
            ("--temperature", { $0.loss.temperature = 0 }, "0"),
            ("--temperature", { $0.loss.temperature = -0.1 }, "-0.1"),
            ("--temperature", { $0.loss.temperature = .nan }, "nan"),
            ("--negatives", { $0.loss.negatives = 0 }, "0"),
            ("--negatives", { $0.loss.negatives = (1 << 20) + 1 }, "1048577"),
            ("--momentum", { $0.momentum = 1 }, "1"),
            ("--momentum", { $0.momentum = -0.5 }, "-0.5"),
            ("--momentum", { $0.momentum = .nan }, "nan"),
            ("--lr", { $0.optimizer.learningRate = 0 }, "0"),
            ("--lr", { $0.optimizer.learningRate = .nan }, "nan"),
            ("--weight-decay", { $0.optimizer.weightDecay = -1e-4 }, "-0.0001"),
            ("--weight-decay", { $0.optimizer.weightDecay = .infinity }, "inf"),
            ("--eval-k", { $0.evaluationKs = [] }, "[]"),
            ("--eval-k", { $0.evaluationKs = [20, 0] }, "[20, 0]"),
            ("--checkpoint-every", { $0.checkpointEverySteps = -1 }, "0 or more"),
            ("--popularity-alpha", { $0.popularityAlpha = -1 }, "-1"),
            ("--popularity-alpha", { $0.popularityAlpha = .infinity }, "inf"),
            ("--popularity-alpha", { $0.popularityAlpha = .nan }, "nan"),
            ("--mask-seen-items", { $0.loss.maskSeenItems = true; $0.loss.removeAccidentalHits = false },
             "--keep-accidental-hits"),
            ("--trained-bank-negatives", { $0.loss.trainedBankNegatives = true; $0.loss.liveNegatives = true },
             "--live-negatives"),
            ("--trained-bank-negatives", { $0.loss.trainedBankNegatives = true; $0.loss.kind = .bpr }, "bpr"),
            ("--eval-every", { $0.evaluateEvery = 0 }, "got 0"),
            ("--hard-negatives", { $0.loss.hardNegatives = -1 }, "-1"),
            ("--hard-negatives", { $0.loss.hardNegatives = 8; $0.loss.hardNegativePool = 64 }, "--live-negatives"),
            ("--hard-negatives", { $0.loss.hardNegatives = 8; $0.loss.hardNegativePool = 64; $0.loss.kind = .ccl }, "ccl"),
            ("--hard-negative-pool", { $0.loss.hardNegatives = 8; $0.loss.hardNegativePool = 4; $0.loss.liveNegatives = true },
             "got 4"),
            ("--hard-negative-skip", { $0.loss.hardNegatives = 8; $0.loss.hardNegativePool = 64; $0.loss.liveNegatives = true;
                                       $0.loss.hardNegativeSkip = 57 }, "got 57"),
        ]
        for (flag, change, value) in cases {
            var s = CoordinatorSettings()
            change(&s)
            let problems = s.problems()
            XCTAssertEqual(problems.count, 1, "\(flag) \(value): \(problems)")
            guard let problem = problems.first else { continue }
            XCTAssertTrue(problem.hasPrefix(flag + " "), problem)
            XCTAssertTrue(problem.contains(value), "\(problem) should show \(value)")
        }
    }

    /// More bank negatives than items is allowed (they are drawn with replacement) but named; losses without bank
    /// negatives draw none, whatever --negatives says.
    func testMoreNegativesThanItemsIsAWarning() {
        var s = CoordinatorSettings()
        s.loss.negatives = 5000
        let small = DataShape(users: 10, items: 3043, pairs: 100)
        XCTAssertEqual(s.problems(), [])
        XCTAssertEqual(s.warnings(data: small).count, 1)
        XCTAssertTrue(s.warnings(data: small)[0].hasPrefix("--negatives 5000 is more than the 3043 items"), "\(s.warnings(data: small))")
        XCTAssertEqual(s.warnings(data: DataShape(users: 10, items: 5000, pairs: 100)), [])
        s.loss.kind = .mnr
        XCTAssertEqual(s.warnings(data: small), [])
    }

    func testSeveralProblemsAreAllReported() {
        var s = CoordinatorSettings()
        s.epochs = 0
        s.dim = 0
        s.optimizer.learningRate = -1
        XCTAssertEqual(s.problems().count, 3)
    }

    func testMinibatchSizeAndStepsFollowTheWorkers() {
        var s = CoordinatorSettings()
        s.batchSize = 3072
        s.minimumWorkers = 4
        XCTAssertEqual(s.effectiveMinibatchSize, 768)
        XCTAssertEqual(s.minibatchesPerStep, 4)
        s.minimumWorkers = 5          // 3072 / 5 rounds up to 615: 5 minibatches, the last short
        XCTAssertEqual(s.effectiveMinibatchSize, 615)
        XCTAssertEqual(s.minibatchesPerStep, 5)
        s.minibatchSize = 1000        // explicit: 4 minibatches (1000, 1000, 1000, 72)
        XCTAssertEqual(s.effectiveMinibatchSize, 1000)
        XCTAssertEqual(s.minibatchesPerStep, 4)
        s.maxMessageBytes = 123
        XCTAssertEqual(s.effectiveMaxMessageBytes, 123)
    }

    /// The default message limit holds the largest GRADIENT of a minibatch: two blocks of 2 × minibatch rows.
    func testDefaultMessageLimitHoldsTheLargestGradient() {
        var s = CoordinatorSettings()
        s.dim = 512
        s.minibatchSize = 4096
        s.batchSize = 4096
        let rowsBlock = 8 + 2 * 4096 * (4 + 512 * 4)
        XCTAssertGreaterThan(s.effectiveMaxMessageBytes, 44 + 2 * rowsBlock)
    }
}

/// With CurveZMQ on, the shard links are encrypted too: the shards' public keys are needed, once or per shard.
final class CoordinatorSettingsShardKeyTests: XCTestCase {
    func testCurveWithShardsNeedsTheShardsKeys() throws {
        let pair = try CurveKeyPair.generate()
        var s = CoordinatorSettings()
        s.shards = ["tcp://a:1", "tcp://b:1", "tcp://c:1"]
        XCTAssertEqual(s.problems(), [])
        s.curve = CurveServer(keys: pair, authorizedClients: [pair.publicKey: "w"])
        XCTAssertTrue(s.problems().first?.contains("--shard-public-key") == true, "\(s.problems())")
        s.shardPublicKeys = [pair.publicKey]
        XCTAssertEqual(s.problems(), [], "one key for every shard")
        s.shardPublicKeys = [pair.publicKey, pair.publicKey, pair.publicKey]
        XCTAssertEqual(s.problems(), [], "one key per shard")
        s.shardPublicKeys = [pair.publicKey, pair.publicKey]
        XCTAssertTrue(s.problems().first?.contains("2 times for 3 shards") == true, "\(s.problems())")
        s.curve = nil
        XCTAssertTrue(s.problems().first?.contains("needs CurveZMQ on") == true, "\(s.problems())")
    }
}
