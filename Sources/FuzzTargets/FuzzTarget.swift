/// The fuzz targets: each takes arbitrary bytes, feeds them to one decoder or state machine of the project, and
/// checks what must hold for every input. A trap (a failed precondition, an out-of-range index) or a thrown
/// `FuzzFailure` is a bug; a decoder refusing the input with its own error is the expected outcome for most inputs.
///
/// The same entry point serves libFuzzer (`Fuzz/`, run by `scripts/fuzz.sh`) and the corpus replay of the test suite.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Two frames, as a socket delivers them, through `WireCodec.decode(frames:)`: header checks, CRC, payloads.
    case envelope
    /// One tag byte and a payload, wrapped in a correct header, so that every payload decoder is reached.
    case message
    /// STEP payloads, checked against a small spec and computed, task by task, from the rows they carry.
    case stepRows = "step-rows"
    /// Checkpoint files through `Checkpoint.decode` and `restore`.
    case checkpoint
    /// CurveZMQ key files: secret key, public key and authorized-keys parsers.
    case keyFile = "key-file"
    /// The coordinator's state machine fed a script of decoded messages, ticks and clock advances.
    case coordinatorProtocol = "coordinator-protocol"
    /// The worker's state machine fed a script of decoded messages, ticks and clock advances.
    case workerProtocol = "worker-protocol"
    /// A state shard fed a script of decoded messages.
    case shardService = "shard-service"
    /// The coordinator's side of two shard links, their answers honest, altered, stale, damaged or missing.
    case shardLink = "shard-link"

    /// The longest input worth trying: enough for a few messages, short enough to keep the rate high.
    public var maximumLength: Int {
        switch self {
        case .keyFile: return 1024
        // The protocol scripts too: a whole training run of the coordinator's seed takes under 1 KB.
        case .envelope, .message, .stepRows, .checkpoint, .coordinatorProtocol, .workerProtocol, .shardService, .shardLink:
            return 4096
        }
    }

    /// Runs one input. Throws when a property that must hold for every input does not.
    public func run(_ input: [UInt8]) throws(FuzzFailure) {
        switch self {
        case .envelope: try WireFuzzing.envelope(input)
        case .message: try WireFuzzing.message(input)
        case .stepRows: try WireFuzzing.stepRows(input)
        case .checkpoint: try CheckpointFuzzing.run(input)
        case .keyFile: try KeyFileFuzzing.run(input)
        case .coordinatorProtocol: try CoordinatorProtocolFuzzing.run(input)
        case .workerProtocol: try WorkerProtocolFuzzing.run(input)
        case .shardService: try ShardServiceFuzzing.run(input)
        case .shardLink: try ShardLinkFuzzing.run(input)
        }
    }
}

/// A property that the input broke (a decoded value that does not re-encode to its bytes, a state machine whose
/// state went backwards). Reported by the fuzzer as a crash.
public struct FuzzFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
