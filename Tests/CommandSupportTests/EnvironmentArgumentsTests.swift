import ArgumentParser
import XCTest
@testable import CommandSupport

private struct Sample: ParsableArguments {
    @Option var epochs = 5
    @Option var evalK: [Int] = [20]
    @Option var minibatchSize: Int?
    @Flag var verifyReplicas = false
    @Option var curveSecretKey: String?
    @Flag(inversion: .prefixedNo) var liveNegatives: Bool?
}

final class EnvironmentArgumentsTests: XCTestCase {
    func testFlagsAreFoundByReflectionInKebabCase() {
        XCTAssertEqual(EnvironmentArguments.flags(of: Sample.self).map(\.0),
                       ["epochs", "eval-k", "minibatch-size", "verify-replicas", "curve-secret-key", "live-negatives"])
    }

    func testVariablesBecomeArgumentsAndTheCommandLineWins() throws {
        let (arguments, problems) = EnvironmentArguments.arguments(for: Sample.self, environment: [
            "MBT_EPOCHS": "8", "MBT_EVAL_K": "10,50", "MBT_MINIBATCH_SIZE": "", "MBT_VERIFY_REPLICAS": "true",
            "MBT_CURVE_SECRET_KEY": "/keys/c.key", "MBT_UNRELATED": "x", "EPOCHS": "3",
        ])
        XCTAssertEqual(problems, [])
        XCTAssertEqual(arguments, ["--epochs=8", "--eval-k=10", "--eval-k=50", "--verify-replicas",
                                   "--curve-secret-key=/keys/c.key"])
        let parsed = try Sample.parse(arguments + ["--epochs", "2"])
        XCTAssertEqual(parsed.epochs, 2)
        XCTAssertEqual(parsed.evalK, [10, 50])
        XCTAssertNil(parsed.minibatchSize)
        XCTAssertTrue(parsed.verifyReplicas)
    }

    func testANegativeValueStaysAValue() throws {
        let (arguments, problems) = EnvironmentArguments.arguments(for: Sample.self, environment: [
            "MBT_EPOCHS": "-3", "MBT_EVAL_K": "-1,5",
        ])
        XCTAssertEqual(problems, [])
        let parsed = try Sample.parse(arguments)
        XCTAssertEqual(parsed.epochs, -3, "passed on for the command's own check, not taken for a flag")
        XCTAssertEqual(parsed.evalK, [-1, 5])
    }

    func testAFlagVariableNeedsATruthValue() {
        let off = EnvironmentArguments.arguments(for: Sample.self, environment: ["MBT_VERIFY_REPLICAS": "0"])
        XCTAssertEqual(off.arguments, [])
        let bad = EnvironmentArguments.arguments(for: Sample.self, environment: ["MBT_VERIFY_REPLICAS": "maybe"])
        XCTAssertEqual(bad.problems, ["MBT_VERIFY_REPLICAS=maybe: expected 1 or 0 (true or false) for --verify-replicas"])
    }

    func testAFlagWithANoFormIsSetEitherWay() throws {
        let on = EnvironmentArguments.arguments(for: Sample.self, environment: ["MBT_LIVE_NEGATIVES": "1"])
        XCTAssertEqual(on.arguments, ["--live-negatives"])
        XCTAssertEqual(try Sample.parse(on.arguments).liveNegatives, true)
        let off = EnvironmentArguments.arguments(for: Sample.self, environment: ["MBT_LIVE_NEGATIVES": "false"])
        XCTAssertEqual(off.arguments, ["--no-live-negatives"])
        XCTAssertEqual(try Sample.parse(off.arguments).liveNegatives, false)
        XCTAssertNil(try Sample.parse([]).liveNegatives, "unset: the preset or default decides")
    }
}
