import Coordinator
import Wire

/// A state shard (`ShardService`) fed a `ProtocolScript` of decoded messages (peer bits, clock and ticks mean
/// nothing to a shard). The SHARD_OPEN a script sends is capped to small tables (`maxValues`, `maxDrawnValues`), as a
/// shard's limits would cap it.
///
/// Checked after every message: the answer is one a shard may give (SHARD_READY, SHARD_ROWS, SHARD_APPLIED or
/// REJECT), a refused request left the version where it was, the version never goes back, and every row it sends is
/// finite, of the run's width and one of its own.
enum ShardServiceFuzzing {
    static func run(_ input: [UInt8]) throws(FuzzFailure) {
        let service = ShardService(maxValues: 1 << 16, maxDrawnValues: 1 << 18)
        var script = ProtocolScript(input)
        var version: UInt64 = 0
        while let event = try script.next() {
            guard case let .message(message, _, _) = event.action else { continue }
            let before = service.state?.version
            let answer = service.answer(message)
            let after = service.state?.version
            switch answer {
            case .reject:
                if before != after { throw FuzzFailure("a refused \(message.name) moved the version from \(String(describing: before)) to \(String(describing: after))") }
            case .shardReady, .shardApplied:
                break
            case let .shardRows(rows):
                guard let opened = service.opened else { throw FuzzFailure("SHARD_ROWS from a shard that is not open") }
                for block in [rows.users, rows.items, rows.bank] {
                    guard block.dim == Int(opened.dim), block.values.allSatisfy(\.isFinite),
                          block.ids.allSatisfy(service.partition.owns) else {
                        throw FuzzFailure("\(message.name) answered with rows that are not the shard's, or not finite")
                    }
                }
            default:
                throw FuzzFailure("a shard answered \(message.name) with \(answer.name)")
            }
            if let after {
                guard after >= version else { throw FuzzFailure("the version went back from \(version) to \(after)") }
                version = after
            }
        }
    }
}
