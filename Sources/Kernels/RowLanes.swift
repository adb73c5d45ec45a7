import Dispatch
import Foundation

/// Work over many independent rows, split into contiguous ranges that run on the processor's cores at once. For
/// loops whose rows never meet (distinct rows of a table, each computed from its own values alone), so that the
/// split changes no bit of the result.
public enum RowLanes {
    /// At most this many ranges: the coordinator's serial phases use the cores its workers leave idle meanwhile.
    static let lanes = min(max(ProcessInfo.processInfo.activeProcessorCount, 1), 4)

    /// Calls `body` with ranges that cover 0..<count once each, concurrently when there are at least `minimum` rows
    /// and more than one core (else once, with the whole range, on this thread).
    public static func forEach(count: Int, minimum: Int = 1024, _ body: (Range<Int>) -> Void) {
        let n = count >= minimum ? lanes : 1
        guard n > 1 else {
            if count > 0 { body(0 ..< count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBody(body: body)
            DispatchQueue.concurrentPerform(iterations: n) { lane in
                box.body(count * lane / n ..< count * (lane + 1) / n)
            }
        }
    }
}

extension RowLanes {
    /// Runs `first` and `second` at once (on one thread when the processor has one core), returning when both have:
    /// for two pieces of work that touch nothing in common.
    public static func both(_ first: () -> Void, _ second: () -> Void) {
        guard lanes > 1 else {
            first()
            second()
            return
        }
        withoutActuallyEscaping(first) { first in
            withoutActuallyEscaping(second) { second in
                let box = UncheckedPair(first: first, second: second)
                DispatchQueue.concurrentPerform(iterations: 2) { k in k == 0 ? box.first() : box.second() }
            }
        }
    }
}

private struct UncheckedPair: @unchecked Sendable {
    let first: () -> Void
    let second: () -> Void
}

/// A body that `RowLanes` runs on several threads: its ranges never overlap, which is what makes it safe.
private struct UncheckedBody: @unchecked Sendable {
    let body: (Range<Int>) -> Void
}
