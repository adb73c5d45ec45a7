import Foundation
import RunSettings

/// Computes a minibatch's summed loss and sparse gradients with the kernels, in a reusable workspace.
///
/// All scratch lives in one float buffer that is allocated once and grown only when shapes grow; the only
/// per-call allocations are the returned sparse rows. Not thread-safe: one computer per thread.
public final class MinibatchGradientComputer {
    public let settings: LossSettings
    public let dim: Int
    /// The float scratch; regions are laid out per call (see `computeContrastive`, `computeBPR`).
    private var scratch: [Float] = []
    private var itemIds: [UInt32] = []
    private var sortKeys: [UInt64] = []
    /// Hard negatives: per pair how many it has, and each slot's position in the pool.
    private var hardCounts: [Int32] = []
    private var hardSlots: [Int32] = []
    private var maskedColumns: [Int32] = []
    private var rankedColumns: [Int32] = []
    /// Threads that run ranges of rows of the bank InfoNCE kernel side by side, each calling OpenBLAS; more than
    /// one needs OpenBLAS single-threaded (`BLAS.setThreads(1)`). One: OpenBLAS's own threads do the GEMMs.
    public var kernelThreads = 1 {
        didSet { precondition(kernelThreads > 0, "kernelThreads must be positive, got \(kernelThreads)") }
    }
    /// Rows per fused block of the bank InfoNCE kernel (nil: `bankContrastiveBlockRows`).
    public var bankBlockRows: Int? {
        didSet { precondition((bankBlockRows ?? 1) > 0, "bankBlockRows must be positive") }
    }

    /// The users' training items, masked among their negatives or left out of the hard negatives; required when
    /// `settings.needsSeenItems`.
    public let seenItems: SeenItems?
    /// The lookup table of `SeenItems.withView`.
    private var seenSlots: [Int32] = []

    public init(settings: LossSettings, dim: Int, seenItems: SeenItems? = nil) {
        precondition(dim > 0, "MinibatchGradientComputer needs dim > 0, got \(dim)")
        precondition(settings.temperature > 0, "temperature must be positive, got \(settings.temperature)")
        precondition(!settings.needsSeenItems || seenItems != nil, "the loss needs the users' seen items")
        self.settings = settings
        self.dim = dim
        self.seenItems = settings.needsSeenItems ? seenItems : nil
    }

    /// Runs `body` with the float scratch and the view of the seen items for these rows' users (nil when the loss
    /// needs none).
    private func withScratch<R>(users: [UInt32], _ body: (UnsafeMutablePointer<Float>, SeenItemsView?) -> R) -> R {
        scratch.withUnsafeMutableBufferPointer { buffer in
            guard let seenItems else { return body(buffer.baseAddress!, nil) }
            return seenItems.withView(users: users, scratch: &seenSlots) { body(buffer.baseAddress!, $0) }
        }
    }

    /// users, items: the B (user, positive item) pairs. negatives: K bank row ids for bankInfoNCE / mixInBatch, or
    /// B live item ids (one per pair) for BPR; ignored for pure in-batch and MNR. negativeLogQ: log sampling
    /// probability of each bank negative (count K), required when settings.logQCorrection, else ignored.
    /// pool: the hard-negative pool (`settings.hardNegatives`), read from `bank` like trained bank negatives.
    /// Reads the rows from whole tables: row r of a table is id r. With `trainedBankNegatives` the negatives are read
    /// from `bank` as it is given and their gradients named by their item ids.
    public func compute(
        users: [UInt32], items: [UInt32], userTable: EmbeddingTable, itemTable: EmbeddingTable,
        bank: EmbeddingTable, negatives: [UInt32], negativeLogQ: [Float]?, pool: [UInt32] = []
    ) -> MinibatchGradient {
        let negativeTable = settings.kind == .bpr || settings.liveNegatives ? itemTable : bank
        return compute(users: users, items: items, negatives: negatives,
                       rows: MinibatchRows(users: userTable, userRows: users, items: itemTable, itemRows: items,
                                           negatives: negativeTable, negativeRows: negatives, pool: bank,
                                           poolRows: pool),
                       negativeLogQ: negativeLogQ, pool: pool)
    }

    /// The same, reading each pair's and each negative's values from `rows` (tables that may hold only the rows
    /// the minibatch reads); `users`, `items`, `negatives` and `pool` stay the ids the masks and the gradient name.
    public func compute(
        users: [UInt32], items: [UInt32], negatives: [UInt32], rows: MinibatchRows, negativeLogQ: [Float]?,
        pool: [UInt32] = []
    ) -> MinibatchGradient {
        precondition(users.count == items.count, "minibatch has \(users.count) users but \(items.count) items")
        precondition(rows.userRows.count == users.count && rows.itemRows.count == items.count,
                     "row indices for \(rows.userRows.count)/\(rows.itemRows.count) of \(users.count) pairs")
        precondition(rows.users.dim == dim && rows.items.dim == dim && rows.negatives.dim == dim,
                     "tables of dim \(rows.users.dim)/\(rows.items.dim)/\(rows.negatives.dim) for a computer of dim \(dim)")
        if users.isEmpty {
            return MinibatchGradient(lossSum: 0, examples: 0, users: SparseRows(dim: dim), items: SparseRows(dim: dim))
        }
        switch settings.kind {
        case .bpr:
            precondition(negatives.count == users.count,
                         "BPR needs one negative per pair: \(negatives.count) negatives for \(users.count) pairs")
            precondition(rows.negativeRows.count == negatives.count, "row indices for \(rows.negativeRows.count) of \(negatives.count) negatives")
            return computeBPR(users: users, items: items, negatives: negatives, rows: rows)
        case .bankInfoNCE, .inBatchInfoNCE, .mnr, .ccl:
            let useBank = settings.usesBankNegatives
            if useBank && settings.logQCorrection {
                precondition(negativeLogQ?.count == negatives.count,
                             "logQ correction needs one log-probability per negative (\(negatives.count)), got \(negativeLogQ?.count ?? 0)")
            }
            if useBank {
                precondition(rows.negativeRows.count == negatives.count, "row indices for \(rows.negativeRows.count) of \(negatives.count) negatives")
            }
            let hard = settings.minesHardNegatives && settings.kind == .bankInfoNCE
            if hard {
                precondition(rows.poolRows.count == pool.count && rows.pool.dim == dim,
                             "row indices for \(rows.poolRows.count) of \(pool.count) pool items")
            }
            return computeContrastive(users: users, items: items, negatives: useBank ? negatives : [],
                                      negativeLogQ: settings.logQCorrection ? negativeLogQ : nil,
                                      rows: useBank ? rows : rows.withoutNegatives, pool: hard ? pool : [])
        }
    }

    private func ensureScratch(_ count: Int) {
        if scratch.count < count { scratch = [Float](repeating: 0, count: count) }
    }

    /// The softmax losses and CCL over gathered rows; the scratch layout is written out at its first use below.
    private func computeContrastive(
        users: [UInt32], items: [UInt32], negatives: [UInt32], negativeLogQ: [Float]?, rows: MinibatchRows,
        pool: [UInt32]
    ) -> MinibatchGradient {
        let B = users.count, K = negatives.count, d = dim
        // Hard negatives: M per pair, chosen among the P pool items.
        let P = pool.count, M = P > 0 ? Swift.min(settings.hardNegatives, P) : 0
        let inBatch = settings.isInBatch
        // Negatives with gradients: live item rows (sampled softmax) or bank rows read as stale item rows (their
        // gradient goes to the item ids); else constant bank rows.
        let live = settings.trainsNegatives && K > 0
        let cosine = settings.effectiveSimilarity == .cosine
        let C = contrastiveLogitColumns(batch: B, negatives: K, inBatch: inBatch)
        // Layout: q (B, d) | p (B, d) | n (K, d) | dq (B, d) | dp (B, d) | dn (K, d) if live | dh (B·M, d) | qNorms (B)
        //         | pNorms (B) | nNorms (K) if live | offsets (K) | hard negatives: pool rows (P, d), their norms (P),
        //         scores (B, P), the rows of each pair's slots (B·M, d), their norms (B·M), their weights (B·M) |
        //         logits: (B, C) for the in-batch, live and CCL kernel; for the fused bank kernel, per kernel thread
        //         two blocks (min(B, blockRows), K) (logits, weights)
        let liveK = live ? K : 0
        let qAt = 0, pAt = B * d, nAt = 2 * B * d, dqAt = nAt + K * d, dpAt = dqAt + B * d, dnAt = dpAt + B * d
        let dhAt = dnAt + liveK * d
        let qNormAt = dhAt + B * M * d, pNormAt = qNormAt + B, nNormAt = pNormAt + B, offAt = nNormAt + liveK
        let poolAt = offAt + K, poolNormAt = poolAt + P * d, scoresAt = poolNormAt + P
        let hardAt = scoresAt + (M > 0 ? B * P : 0), hardNormAt = hardAt + B * M * d, hardWeightAt = hardNormAt + B * M
        let logitsAt = hardWeightAt + B * M
        let blockRows = bankBlockRows ?? bankContrastiveBlockRows(negatives: K)
        let fused = !inBatch && settings.kind != .ccl
        ensureScratch(logitsAt + (fused ? 2 * kernelThreads * Swift.min(B, blockRows) * K : B * C))
        let temperature = settings.effectiveTemperature
        let ccl = settings.kind == .ccl ? (margin: settings.cclMargin, weight: settings.cclNegativeWeight) : nil
        let removeHits = settings.masksAccidentalHits
        var lossSum = 0.0
        var userGrads = SparseRows(dim: d), itemGrads = SparseRows(dim: d)
        withScratch(users: users) { s, seen in
            if cosine {   // gathered and normalised in one pass
                rows.userRows.withUnsafeBufferPointer {
                    gatherNormalizedRows(rows.users, ids: $0, into: s + qAt, norms: s + qNormAt)
                }
                rows.itemRows.withUnsafeBufferPointer {
                    gatherNormalizedRows(rows.items, ids: $0, into: s + pAt, norms: s + pNormAt)
                }
                rows.negativeRows.withUnsafeBufferPointer {
                    gatherNormalizedRows(rows.negatives, ids: $0, into: s + nAt, norms: live ? s + nNormAt : nil)
                }
            } else {
                gatherRows(rows.users, ids: rows.userRows, into: s + qAt)
                gatherRows(rows.items, ids: rows.itemRows, into: s + pAt)
                gatherRows(rows.negatives, ids: rows.negativeRows, into: s + nAt)
            }
            if let logQ = negativeLogQ {
                let logK = Float(log(Double(K)))
                for k in 0 ..< K { s[offAt + k] = logK + logQ[k] }
            }
            if M > 0 {
                chooseHardNegatives(queries: s + qAt, items: items, pool: pool, rows: rows, perRow: M, seen: seen,
                                    poolRows: s + poolAt, poolNorms: s + poolNormAt, scores: s + scoresAt,
                                    slotRows: s + hardAt, slotNorms: s + hardNormAt, cosine: cosine)
            }
            lossSum = items.withUnsafeBufferPointer { itemIdBuffer in
                negatives.withUnsafeBufferPointer { negIdBuffer in
                    let rows = ContrastiveRows(q: s + qAt, p: s + pAt, n: K > 0 ? UnsafePointer(s + nAt) : nil,
                                               batch: B, negatives: K, dim: d)
                    let masks = LogitMasks(positiveIds: removeHits ? itemIdBuffer.baseAddress : nil,
                                           negativeIds: removeHits ? negIdBuffer.baseAddress : nil,
                                           negativeLogitOffset: negativeLogQ != nil ? UnsafePointer(s + offAt) : nil,
                                           seen: settings.maskSeenItems ? seen : nil)
                    return !fused ? contrastiveSoftmaxForwardBackward(
                        rows, inBatch: inBatch, temperature: temperature,
                        positiveTemperature: settings.positiveTemperature, ccl: ccl, masks: masks,
                        logits: s + logitsAt, dq: s + dqAt, dp: s + dpAt, dn: live ? s + dnAt : nil)
                    : hardCounts.withUnsafeBufferPointer { counts in
                        bankContrastiveForwardBackward(
                            rows, temperature: temperature, positiveTemperature: settings.positiveTemperature,
                            masks: masks, logitBound: cosine && negativeLogQ == nil ? 1.0001 / temperature : nil,
                            block: s + logitsAt, blockRows: blockRows, dq: s + dqAt, dp: s + dpAt,
                            dn: live ? s + dnAt : nil,
                            rowNegatives: M > 0 ? RowNegatives(rows: s + hardAt, perRow: M, counts: counts.baseAddress!,
                                                               weights: s + hardWeightAt, gradients: s + dhAt) : nil,
                            threads: kernelThreads)
                    }
                }
            }
            if cosine {
                normalizeRowsBackward(s + dqAt, normalized: s + qAt, norms: s + qNormAt, rows: B, dim: d)
                normalizeRowsBackward(s + dpAt, normalized: s + pAt, norms: s + pNormAt, rows: B, dim: d)
                if live { normalizeRowsBackward(s + dnAt, normalized: s + nAt, norms: s + nNormAt, rows: K, dim: d) }
                if M > 0 {
                    normalizeRowsBackward(s + dhAt, normalized: s + hardAt, norms: s + hardNormAt, rows: B * M, dim: d)
                }
            }
            userGrads = users.withUnsafeBufferPointer {
                SparseRows.summingDuplicates(ids: $0, rows: s + dqAt, dim: d, keys: &sortKeys)
            }
            // dp, dn and dh are adjacent: the item gradient is one (B + K + B·M, d) block. An unused slot holds a
            // zero gradient, named by its pair's positive (a row already in the block).
            itemIds.removeAll(keepingCapacity: true)
            itemIds.append(contentsOf: items)
            if live { itemIds.append(contentsOf: negatives) }
            for b in 0 ..< B * (M > 0 ? 1 : 0) {
                for m in 0 ..< M {
                    itemIds.append(m < Int(hardCounts[b]) ? pool[Int(hardSlots[b * M + m])] : items[b])
                }
            }
            itemGrads = itemIds.withUnsafeBufferPointer {
                SparseRows.summingDuplicates(ids: $0, rows: s + dpAt, dim: d, keys: &sortKeys)
            }
        }
        return MinibatchGradient(lossSum: lossSum, examples: B, users: userGrads, items: itemGrads)
    }

    /// Picks each pair's hard negatives: scores its query against every pool row (the pool rows normalised for
    /// cosine), leaves out the pair's positive and its user's training items, passes over the S highest scores
    /// (`hardNegativeSkip`) and keeps the M after them (ties to the lower pool position), highest first, in `hardCounts`, `hardSlots` and the slots' rows `slotRows`
    /// (B·M, d) with their norms (1 and zero rows for unused slots).
    private func chooseHardNegatives(
        queries q: UnsafePointer<Float>, items: [UInt32], pool: [UInt32], rows: MinibatchRows, perRow M: Int,
        seen: SeenItemsView?, poolRows: UnsafeMutablePointer<Float>, poolNorms: UnsafeMutablePointer<Float>,
        scores: UnsafeMutablePointer<Float>, slotRows: UnsafeMutablePointer<Float>,
        slotNorms: UnsafeMutablePointer<Float>, cosine: Bool
    ) {
        let B = items.count, P = pool.count, d = dim
        if cosine {
            rows.poolRows.withUnsafeBufferPointer {
                gatherNormalizedRows(rows.pool, ids: $0, into: poolRows, norms: poolNorms)
            }
        } else {
            gatherRows(rows.pool, ids: rows.poolRows, into: poolRows)
            poolNorms.update(repeating: 1, count: P)
        }
        // scores (B, P) = q (B, d) · poolᵀ (d, P)
        BLAS.sgemm(.none, .transpose, m: B, n: P, k: d, alpha: 1, a: q, lda: d, b: poolRows, ldb: d, beta: 0,
                   c: scores, ldc: P)
        if hardCounts.count < B { hardCounts = [Int32](repeating: 0, count: B) }
        if hardSlots.count < B * M { hardSlots = [Int32](repeating: 0, count: B * M) }
        if maskedColumns.count < P { maskedColumns = [Int32](repeating: 0, count: P) }
        let S = settings.hardNegativeSkip
        if rankedColumns.count < S + M { rankedColumns = [Int32](repeating: 0, count: S + M) }
        MaskedColumns.with(count: P, id: { pool[$0] }, column: { $0 }, seen: seen) { mask in
            maskedColumns.withUnsafeMutableBufferPointer { masked in
                rankedColumns.withUnsafeMutableBufferPointer { ranked in
                    hardSlots.withUnsafeMutableBufferPointer { slots in
                        hardCounts.withUnsafeMutableBufferPointer { counts in
                            for b in 0 ..< B {
                                counts[b] = Int32(Self.chooseRow(b, scores: scores + b * P, count: P, mask: mask,
                                                                 positive: items[b], masked: masked.baseAddress!,
                                                                 ranked: ranked.baseAddress!, skip: S, keep: M,
                                                                 into: slots.baseAddress! + b * M))
                                for m in 0 ..< M {
                                    let out = slotRows + (b * M + m) * d
                                    if m < Int(counts[b]) {
                                        let c = Int(slots[b * M + m])
                                        out.update(from: poolRows + c * d, count: d)
                                        slotNorms[b * M + m] = poolNorms[c]
                                    } else {
                                        out.update(repeating: 0, count: d)
                                        slotNorms[b * M + m] = 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Row b's choice: its masked candidates (its positive, its user's items) out, then the positions of the best
    /// `skip + keep` scores, of which the first `skip` are passed over; returns how many are kept (≤ keep).
    private static func chooseRow(_ b: Int, scores row: UnsafeMutablePointer<Float>, count P: Int, mask: MaskedColumns,
                                  positive: UInt32, masked: UnsafeMutablePointer<Int32>,
                                  ranked: UnsafeMutablePointer<Int32>, skip S: Int, keep M: Int,
                                  into slots: UnsafeMutablePointer<Int32>) -> Int {
        let n = mask.columns(row: b, positive: positive, target: -1, into: masked, capacity: P)
        for c in 0 ..< n { row[Int(masked[c])] = -.infinity }
        let best = keepHighest(row, count: P, into: ranked, capacity: S + M)
        let kept = Swift.max(0, best - S)
        for m in 0 ..< kept { slots[m] = ranked[S + m] }
        return kept
    }

    /// Writes the positions of the (at most `capacity`) highest scores above −∞ of `scores` into `kept`, highest
    /// first, ties to the lower position, and returns how many.
    static func keepHighest(_ scores: UnsafePointer<Float>, count: Int, into kept: UnsafeMutablePointer<Int32>,
                            capacity M: Int) -> Int {
        guard M > 0 else { return 0 }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: M) { keptScores in
            var n = 0
            var lowest = -Float.infinity   // the lowest kept score once M are kept
            for c in 0 ..< count {
                let score = scores[c]
                guard score > lowest || (n < M && score > -.infinity) else { continue }
                var at = Swift.min(n, M - 1)
                while at > 0 && keptScores[at - 1] < score {
                    kept[at] = kept[at - 1]
                    keptScores[at] = keptScores[at - 1]
                    at -= 1
                }
                kept[at] = Int32(c)
                keptScores[at] = score
                n = Swift.min(n + 1, M)
                if n == M { lowest = keptScores[M - 1] }
            }
            return n
        }
    }

    // Layout: u (B, d) | p (B, d) | n (B, d) | du (B, d) | dp (B, d) | dn (B, d); dp and dn are adjacent so that
    // the item gradient is one (2B, d) block named by items ++ negatives.
    private func computeBPR(
        users: [UInt32], items: [UInt32], negatives: [UInt32], rows: MinibatchRows
    ) -> MinibatchGradient {
        let B = users.count, d = dim
        let uAt = 0, pAt = B * d, nAt = 2 * B * d, duAt = 3 * B * d, dpAt = 4 * B * d, dnAt = 5 * B * d
        ensureScratch(6 * B * d)
        itemIds.removeAll(keepingCapacity: true)
        itemIds.append(contentsOf: items)
        itemIds.append(contentsOf: negatives)
        let removeHits = settings.masksAccidentalHits
        var lossSum = 0.0
        var userGrads = SparseRows(dim: d), itemGrads = SparseRows(dim: d)
        withScratch(users: users) { s, seen in
            gatherRows(rows.users, ids: rows.userRows, into: s + uAt)
            gatherRows(rows.items, ids: rows.itemRows, into: s + pAt)
            gatherRows(rows.negatives, ids: rows.negativeRows, into: s + nAt)
            lossSum = items.withUnsafeBufferPointer { posIds in
                negatives.withUnsafeBufferPointer { negIds in
                    bprForwardBackward(u: s + uAt, p: s + pAt, n: s + nAt, batch: B, dim: d,
                                       positiveIds: removeHits ? posIds.baseAddress : nil,
                                       negativeIds: removeHits ? negIds.baseAddress : nil, seen: seen,
                                       du: s + duAt, dp: s + dpAt, dn: s + dnAt)
                }
            }
            userGrads = users.withUnsafeBufferPointer {
                SparseRows.summingDuplicates(ids: $0, rows: s + duAt, dim: d, keys: &sortKeys)
            }
            itemGrads = itemIds.withUnsafeBufferPointer {
                SparseRows.summingDuplicates(ids: $0, rows: s + dpAt, dim: d, keys: &sortKeys)
            }
        }
        return MinibatchGradient(lossSum: lossSum, examples: B, users: userGrads, items: itemGrads)
    }
}

/// Copies table rows ids (n) into destination (n, dim).
func gatherRows(_ table: EmbeddingTable, ids: [UInt32], into destination: UnsafeMutablePointer<Float>) {
    let d = table.dim, rows = table.rows
    table.withUnsafeValues { src in
        for (k, id) in ids.enumerated() {
            precondition(Int(id) < rows, "row id \(id) outside 0..<\(rows)")
            if k + prefetchDistance < ids.count, Int(ids[k + prefetchDistance]) < rows {   // random rows
                prefetchRow(src.baseAddress! + Int(ids[k + prefetchDistance]) * d, count: d)
            }
            (destination + k * d).update(from: src.baseAddress! + Int(id) * d, count: d)
        }
    }
}
